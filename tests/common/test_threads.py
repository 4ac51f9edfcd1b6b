"""The thread helpers behind chunked validation, COPY encoding, graph matching and batch scoring."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from common.threads import map_ahead, map_in_threads, map_row_chunks


def test_map_ahead_keeps_order_and_bounds_the_work_waiting() -> None:
    lock = threading.Lock()
    started: list[int] = []

    def work(i: int) -> int:
        with lock:
            started.append(i)
        time.sleep(0.002 * (5 - i % 5))  # later items often finish first
        return i * i

    consumed = 0
    for k, value in enumerate(map_ahead(work, range(20), workers=2, ahead=3)):
        assert value == k * k
        consumed += 1
        with lock:
            # never more than `ahead` items started beyond the one just handed over
            assert len(started) <= consumed + 3
    assert consumed == 20


def test_map_ahead_raises_the_work_error_in_order() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("bad chunk 3")
        return i

    got: list[int] = []
    with pytest.raises(ValueError, match="bad chunk 3"):
        for v in map_ahead(work, range(10), workers=2, ahead=2):
            got.append(v)
    assert got == [0, 1, 2]


def test_map_row_chunks_hands_over_every_row_once_with_its_start() -> None:
    frame = pd.DataFrame({"x": range(10)}, index=range(100, 110))
    parts = map_row_chunks(frame, lambda part, start: (start, part["x"].tolist(), list(part.index)),
                           chunk_rows=4, workers=2)
    assert [p[0] for p in parts] == [0, 4, 8]
    assert [x for p in parts for x in p[1]] == list(range(10))
    assert all(p[2] == list(range(len(p[1]))) for p in parts)

def test_two_threads_give_the_results_of_a_plain_loop() -> None:
    out = np.zeros(10, dtype=np.int64)

    def work(i: int) -> int:
        out[i] = i * i  # each item writes only its own slot
        return -i

    assert map_in_threads(work, list(range(10))) == [-i for i in range(10)]
    assert out.tolist() == [i * i for i in range(10)]
    assert map_in_threads(work, []) == [] and map_in_threads(work, [3]) == [-3]
