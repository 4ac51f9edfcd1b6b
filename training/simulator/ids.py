"""Identifiers built as byte matrices, so ten million ids cost no Python string per id.

USCCs follow GB 32100-2015 (registration authority 9 = market regulation, type 1 = enterprise,
GB/T 2260 region, a GB 11714 organisation code with its own check, then the USCC check); document
ids are fixed-width digit strings that are unique per issuer because they are unique overall.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from store.uscc import ALPHABET, WEIGHTS

_ALPHA_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_USCC_W = np.asarray(WEIGHTS, dtype=np.int64)
_ORG_W = np.asarray((3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)


def digits(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    """ASCII digits of non-negative integers, zero-padded to `width` (one row per value)."""
    v = np.asarray(values, dtype=np.int64)
    out = np.empty((v.shape[0], width), dtype=np.uint8)
    rest = v.copy()
    for col in range(width - 1, -1, -1):
        out[:, col] = (rest % 10).astype(np.uint8) + 48
        rest //= 10
    return out


def strings_from_matrix(mat: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """A pyarrow string array whose i-th value is row i of `mat` (fixed width, zero copy)."""
    n, width = mat.shape
    data = pa.py_buffer(np.ascontiguousarray(mat).tobytes())
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int64).tobytes())
    arr = pa.LargeStringArray.from_buffers(n, offsets, data)
    if valid is not None and not bool(valid.all()):
        mask = pa.array(valid, type=pa.bool_())
        arr = pc.if_else(mask, arr, pa.scalar(None, pa.large_string()))
    return arr


def make_usccs(
    rng: np.random.Generator, region_codes: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8]:
    """Unique valid USCCs, one per region code, as an (n, 18) byte matrix."""
    n = region_codes.shape[0]
    space = 31**8
    body = np.asarray(rng.integers(0, space, size=n, dtype=np.int64), dtype=np.int64)
    for _ in range(20):  # re-draw the (rare) collisions until all bodies are distinct
        _, first = np.unique(body, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        body[dup] = rng.integers(0, space, size=int(dup.sum()), dtype=np.int64)
    vals = np.empty((n, 17), dtype=np.int64)
    vals[:, 0] = 9
    vals[:, 1] = 1
    reg = digits(region_codes, 6).astype(np.int64) - 48
    vals[:, 2:8] = reg
    rest = body.copy()
    org = np.empty((n, 8), dtype=np.int64)
    for col in range(7, -1, -1):
        org[:, col] = rest % 31
        rest //= 31
    # GB 11714 check over the organisation code body: letters count as 10..35 by their A-Z rank.
    org_chars = _ALPHA_BYTES[org]
    org_val = np.where(org_chars >= 65, org_chars.astype(np.int64) - 55, org_chars.astype(np.int64) - 48)
    c = 11 - (org_val @ _ORG_W) % 11
    org_check = np.where(c == 11, 0, c)  # 10 -> 'X' (value 29 in the USCC alphabet)
    vals[:, 8:16] = org
    vals[:, 16] = np.where(org_check == 10, ALPHABET.index("X"), org_check)
    check = (31 - (vals @ _USCC_W) % 31) % 31
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :17] = _ALPHA_BYTES[vals]
    out[:, 17] = _ALPHA_BYTES[check]
    return out


def doc_ids(
    prefix: str, seq: npt.NDArray[np.int64], width: int, head: npt.NDArray[np.int64] | None = None,
    head_width: int = 0,
) -> pa.Array:
    """`prefix` + optional per-row `head` digits + `seq` zero-padded; seq < 0 means absent."""
    n = seq.shape[0]
    parts: list[npt.NDArray[np.uint8]] = []
    if prefix:
        p = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
        parts.append(np.broadcast_to(p, (n, p.shape[0])))
    if head is not None:
        parts.append(digits(head, head_width))
    parts.append(digits(np.maximum(seq, 0), width))
    mat = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    return strings_from_matrix(mat, seq >= 0)
