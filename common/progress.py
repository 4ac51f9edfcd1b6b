"""The one progress callback that library code accepts instead of printing.

Library code (store, graph, models, training, scoring) never draws on the terminal: it calls
`progress(stage, done, total)` and the command line turns that into a rich display
(`api.cli.progress`). One signature everywhere means any long step can be shown the same way.
"""

from __future__ import annotations

from collections.abc import Callable

# progress(stage, done, total): `done` of `total` units of `stage` are finished.
Progress = Callable[[str, int, int], None]


def report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    """Call `progress` when there is one (library code's progress argument is optional)."""
    if progress is not None:
        progress(stage, done, total)
