"""Sorting int64 keys fast while keeping numpy's stable order (no other graph imports, so the
id encoder and the matcher can both use it)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def stable_argsort(keys: I64) -> I64:
    """np.argsort(keys, kind="stable"), an order of int64 keys that keeps ties in row order.

    When the key range and the row number fit in 63 bits together, the keys are sorted with
    the row number in their low bits instead: numpy sorts plain int64 values with vectorised
    code about eight times as fast as its stable argsort (a timsort), and as the composite
    values are distinct, their order is exactly the stable order of the keys.
    """
    n = keys.shape[0]
    if n < 2:
        return np.arange(n, dtype=np.int64)
    lo, hi = int(keys.min()), int(keys.max())
    bits = (n - 1).bit_length()
    if (hi - lo).bit_length() + bits > 63:
        return np.argsort(keys, kind="stable").astype(np.int64, copy=False)
    comp = np.empty(n, dtype=np.int64)
    step = 1 << 20  # built a block at a time: no key-sized temporaries
    for a in range(0, n, step):
        block = comp[a: a + step]
        np.subtract(keys[a: a + step], lo, out=block)
        block <<= bits
        block |= np.arange(a, a + block.size, dtype=np.int64)
    comp.sort()
    comp &= (1 << bits) - 1
    return comp
