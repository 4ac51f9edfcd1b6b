"""The model report notebook runs top to bottom (`make test` runs it through nbclient; `pytest
--nbmake notebooks` works too)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "model_report.ipynb"


@pytest.mark.slow
def test_model_report_notebook_runs() -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert text.count("grade") == 3  # three explained scores
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4
