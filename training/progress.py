"""The progress callback that library code accepts instead of printing (the CLI draws a bar)."""

from __future__ import annotations

from collections.abc import Callable

# progress(done, total, what): `done` of `total` steps finished, `what` names the current step.
Progress = Callable[[int, int, str], None]


def report(progress: Progress | None, done: int, total: int, what: str) -> None:
    if progress is not None:
        progress(done, total, what)
