"""Stable 64-bit hashes of whole columns: the record hash ("same content") and the key hash.

Both are stored in the database and compared with hashes computed by a later upload, possibly by
another process or another release, so they must depend on nothing but the values: no Python
`hash()` (salted per process), no library hash whose output may change between versions. The
functions here are plain integer arithmetic (the splitmix64 finaliser) over numpy arrays and the
UTF-8 bytes of Arrow string buffers, a whole column at a time: a million ids hash in well under a
second, where hashing Python string objects one by one took seconds.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

U64 = npt.NDArray[np.uint64]

NULL_HASH = np.uint64(0x6A09E667F3BCC909)  # the hash of an absent value (any fixed constant)
_SEED = np.uint64(0x243F6A8885A308D3)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# Values longer than this are hashed with BLAKE2b one by one: they are rare (text fields are
# short), and the word-wise loop below would need one pass per 8 bytes of the longest value.
_LONG = 4096


def mix(h: U64) -> U64:
    """splitmix64's finaliser: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * _M1
        h = h ^ (h >> np.uint64(27))
        h = h * _M2
        return h ^ (h >> np.uint64(31))


def hash_int64(values: npt.NDArray[np.int64], present: npt.NDArray[np.bool_]) -> U64:
    """Hash of integers (amounts in minor units, counts, days since the epoch)."""
    with np.errstate(over="ignore"):
        out = mix(values.astype(np.int64).view(np.uint64) + _GOLDEN)
    out[~present] = NULL_HASH
    return out


def _string_buffers(arr: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data_buf = arr.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    return offsets, data


def hash_strings(arr: pa.Array | pa.ChunkedArray) -> U64:
    """Hash of each string's UTF-8 bytes (nulls get NULL_HASH, "" its own hash).

    Each string is read as little-endian 8-byte words straight out of the Arrow data buffer
    (a byte-strided view gives a word at any offset), the bytes past its end masked to zero, and
    folded one word position at a time; a row stops at its own length, so its hash does not
    depend on the other rows. A column of 18-character USCCs costs three gathers.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.large_string())
    n = len(arr)
    out = np.empty(n, dtype=np.uint64)
    if n == 0:
        return out
    offsets, data = _string_buffers(arr)
    lo, hi = int(offsets[0]), int(offsets[-1])
    starts = offsets[:-1] - lo
    lens = np.diff(offsets)
    long_rows = lens > _LONG
    nwords = np.where(long_rows, 0, (lens + 7) // 8)
    padded = np.zeros(hi - lo + 8, dtype=np.uint8)
    padded[: hi - lo] = data[lo:hi]
    words = np.ndarray(shape=(hi - lo + 1,), dtype="<u8", buffer=padded, strides=(1,))
    h = mix(lens.astype(np.uint64) ^ _SEED)
    last = len(words) - 1
    with np.errstate(over="ignore"):
        for j in range(int(nwords.max(initial=0))):
            every = bool(nwords.min() > j)  # the usual case: no row has ended yet
            live = slice(None) if every else np.flatnonzero(nwords > j)
            w = words[np.minimum(starts[live] + 8 * j, last)]
            rest = lens[live] - 8 * j
            if (rest < 8).any():
                bits = (np.clip(rest, 0, 8) * 8).astype(np.uint64)
                w &= np.where(bits >= 64, ~np.uint64(0), (np.uint64(1) << (bits & np.uint64(63))) - np.uint64(1))
            h[live] = mix(h[live] ^ w + _GOLDEN)
    out[:] = h
    for i in np.flatnonzero(long_rows).tolist():
        digest = hashlib.blake2b(padded[starts[i] : starts[i] + lens[i]].tobytes(), digest_size=8)
        out[i] = np.frombuffer(digest.digest(), dtype="<u8")[0]
    nulls = arr.is_null().to_numpy(zero_copy_only=False)
    out[nulls] = NULL_HASH
    return out


def combine(parts: list[U64], n: int) -> U64:
    """One hash from several column hashes; the order of the columns matters."""
    h = np.full(n, _SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, part in enumerate(parts):
            h = mix(h * _M1 + part + np.uint64(i + 1) * _GOLDEN)
    return h


def as_signed(h: U64) -> npt.NDArray[np.int64]:
    """The same 64 bits as a signed BIGINT, which is what both databases store."""
    return h.view(np.int64)
