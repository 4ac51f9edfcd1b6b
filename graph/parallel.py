"""Independent blocks of array work on two threads.

numpy, pandas and arrow release the GIL inside each call on large arrays, so a loop over
blocks that only read shared arrays or write their own slice runs on both cores of the target
machine with exactly the results of a plain loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
S = TypeVar("S")


def on_two_threads(work: Callable[[S], T], items: list[S]) -> list[T]:
    """[work(item) for item in items], on two threads when there are two cores and two items.

    Each item must only read shared data or write what no other item writes; numpy's error
    state is per thread, so `work` sets its own `np.errstate` if it needs one."""
    if len(items) < 2 or (os.cpu_count() or 1) < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(work, items))
