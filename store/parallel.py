"""Row-chunked work on a thread pool, for the steps of ingestion that are row-local.

Validation and normalisation judge and convert each row on its own, with Arrow and numpy
kernels that release the GIL, so a large batch split into chunks keeps both cores busy while
the database server is still idle (issue 2: the server only has work once rows are encoded).
Results come back in chunk order, so concatenating them gives what one pass would.
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


def map_row_chunks(
    frame: pd.DataFrame,
    work: Callable[[pd.DataFrame, int], T],
    *,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> list[T]:
    """`work(chunk, start)` for each chunk of `chunk_rows` rows (index reset to 0..), in order.
    One chunk (a small frame) runs on the calling thread, with no pool."""
    n = len(frame)
    if n <= chunk_rows:
        return [work(frame.reset_index(drop=True), 0)]
    starts = range(0, n, chunk_rows)
    threads = workers or min(len(starts), os.cpu_count() or 1)

    def one(start: int) -> T:
        return work(frame.iloc[start : start + chunk_rows].reset_index(drop=True), start)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chunk") as pool:
        return list(pool.map(one, starts))


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
