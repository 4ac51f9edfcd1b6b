"""A few megabytes of hostile input cost a bounded amount of memory (issue 16): each case is
read in a fresh process (tests/store/memory_probe.py) and the growth of its peak RSS over a
warmed-up baseline is held under a budget proportional to the input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.memory_probe import CASES

SIZE = 4_000_000
# Measured on the development machine: at most 130 MB for 4 MB (short garbage lines, tens of
# thousands of rows each with every cell refused); a budget of 250 MB leaves room for other
# library versions while still catching the gigabytes these cases used to cost.
BUDGET_MB = 250
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_memory_is_bounded(case: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tests.store.memory_probe", case, str(SIZE)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] >= 1  # every case is refused, by row or as a file
    assert result["growth_mb"] < BUDGET_MB, result
