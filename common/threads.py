"""Work on a thread pool, for array and I/O steps that release the GIL.

numpy, pandas and Arrow release the GIL inside each call on large arrays, and database drivers
while they wait, so independent pieces of such work keep both cores of the target machine busy.
Results always come back in the order of the items, so a threaded run gives exactly what a
plain loop gives.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import TypeVar

import pandas as pd

T = TypeVar("T")
S = TypeVar("S")

CHUNK_ROWS = 250_000


def map_in_threads(work: Callable[[S], T], items: list[S], *, workers: int | None = None) -> list[T]:
    """[work(item) for item in items], on up to `workers` threads (default: one per core).

    Each item must only read shared data or write what no other item writes; numpy's error
    state is per thread, so `work` sets its own `np.errstate` if it needs one. With one item or
    one core it runs on the calling thread, with no pool."""
    threads = min(len(items), workers or os.cpu_count() or 1)
    if threads < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="work") as pool:
        return list(pool.map(work, items))


def map_row_chunks(
    frame: pd.DataFrame,
    work: Callable[[pd.DataFrame, int], T],
    *,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> list[T]:
    """`work(chunk, start)` for each chunk of `chunk_rows` rows (index reset to 0..), in order:
    for row-local steps (validation, normalisation) whose per-chunk results concatenate to what
    one pass would give."""
    starts = list(range(0, len(frame), chunk_rows)) or [0]

    def one(start: int) -> T:
        return work(frame.iloc[start : start + chunk_rows].reset_index(drop=True), start)

    return map_in_threads(one, starts, workers=workers)


def map_ahead(work: Callable[[S], T], items: Iterable[S], *, workers: int, ahead: int) -> Iterator[T]:
    """work(item) for each item, yielded in order, computed by `workers` threads while the
    caller consumes: at most `ahead` results wait (a bounded amount of memory), so a producer
    and a slower consumer (a COPY to the server, a file being written) overlap."""
    queued = iter(items)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ahead") as pool:
        pending: deque[Future[T]] = deque(pool.submit(work, i) for i in islice(queued, max(1, ahead)))
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(pool.submit(work, i) for i in islice(queued, 1))
                yield result
        finally:
            for f in pending:
                f.cancel()
