"""The one progress display of the command line, driven by `common.progress.Progress`.

Library code reports `progress(stage, done, total)`; here each stage gets a rich bar on stderr
(so `--json` output on stdout stays clean). The text before a colon names the bar and the rest
says what it is doing now: "reading: invoices.csv" and "reading: orders.csv" move one bar.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from common.progress import Progress


@contextmanager
def progress_display(*, enabled: bool = True, transient: bool = True) -> Iterator[Progress]:
    """A `Progress` callback drawing one bar per stage while the block runs."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    bars = RichProgress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), disable=not enabled, transient=transient,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        name = stage.split(":", 1)[0]
        if name not in tasks:
            tasks[name] = bars.add_task(stage, total=total)
        bars.update(tasks[name], completed=done, total=total, description=stage)

    with bars:
        yield update
