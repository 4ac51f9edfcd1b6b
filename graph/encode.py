"""Firm and document ids to dense integer codes, fast and exactly.

A million firms and ten million documents name parties about 75 million times; hashing that
many Python-visible strings (or even arrow's dictionary_encode, ~450 ns a string) costs more
than the whole graph. Ids are short (a USCC is 18 bytes), so each id is read straight from the
arrow buffers as a few 64-bit words, mixed into one int64 and factorized as an integer. A hash
can collide, so the result is then checked byte for byte against one representative per code;
should two different ids ever share a hash, the exact (slow) path decides instead. Codes are
therefore always exact: equal codes mean equal ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

_MUL = np.uint64(0x9E3779B97F4A7C15)
_SEED = np.uint64(0xCBF29CE484222325)
_S32 = np.uint64(32)
_S29 = np.uint64(29)


def arrow_strings(values: pd.Series) -> pa.ChunkedArray:
    """The column as arrow large strings without copying arrow-backed pandas columns."""
    arr = values.array
    if hasattr(arr, "__arrow_array__") and getattr(values.dtype, "storage", None) == "pyarrow":
        ca = arr.__arrow_array__()
        ca = ca if isinstance(ca, pa.ChunkedArray) else pa.chunked_array([ca])
        if pa.types.is_string(ca.type) or pa.types.is_large_string(ca.type):
            return ca
    obj = np.asarray(values.astype(object).where(values.notna(), None), dtype=object)
    try:
        out = pa.array(obj, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids given as numbers: their text is the id
        out = pa.array([None if v is None or v != v else str(v) for v in obj], type=pa.large_string())
    return pa.chunked_array([out])


@dataclass
class _Piece:
    """Non-null ids of one byte length from one arrow chunk, compacted so that id i occupies
    bytes [i·L, (i+1)·L) of one buffer: its words are then strided views, not copies."""

    part: int
    base: int  # position of the chunk's first row in the part
    compact: pa.Array  # the piece's ids: no nulls, all of byte length `length`
    sel: I64 | None  # rows of the chunk in this piece (None: all of them, in order)
    length: int

    @property
    def size(self) -> int:
        return len(self.compact)

    def rows(self) -> I64:
        local = np.arange(self.size, dtype=np.int64) if self.sel is None else self.sel
        return local + self.base

    def words(self) -> list[U64]:
        """The ids' bytes as ceil(L / 8) little-endian words each; the last word of an id of
        8 bytes or more is its last 8 bytes (overlapping the previous word), so nothing is
        read outside the id."""
        offsets, data = _buffers(self.compact)
        k, length, start = self.size, self.length, int(offsets[0])
        if length >= 8:
            return [np.ndarray(shape=(k,), dtype=np.uint64, buffer=data, strides=(length,),
                               offset=start + min(8 * j, length - 8))
                    for j in range((length + 7) // 8)]
        padded = np.zeros((k, 8), dtype=np.uint8)
        if length:
            padded[:, :length] = data[start: start + k * length].reshape(k, length)
        return [padded.view(np.uint64).reshape(k)]


def _buffers(chunk: pa.Array) -> tuple[I64, npt.NDArray[np.uint8]]:
    bufs = chunk.buffers()
    off_type = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
    offsets = np.frombuffer(bufs[1], dtype=off_type, count=len(chunk) + 1,
                            offset=chunk.offset * off_type.itemsize).astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _chunk_pieces(part: int, chunk: pa.Array, base: int,
                  mask: npt.NDArray[np.bool_] | None) -> list[_Piece]:
    n = len(chunk)
    if n == 0 or chunk.null_count == n:
        return []
    offsets, _ = _buffers(chunk)
    lengths = np.diff(offsets)
    if chunk.null_count == 0 and mask is None and lengths.min() == lengths.max():
        return [_Piece(part, base, chunk, None, int(lengths[0]))]
    ok = np.ones(n, dtype=bool) if chunk.null_count == 0 else np.asarray(chunk.is_valid())
    if mask is not None:
        ok &= mask
    kept_len = lengths[ok]
    if kept_len.size == 0:
        return []
    lo, hi = int(kept_len.min()), int(kept_len.max())
    one = [lo] if lo == hi else np.unique(kept_len).tolist()
    del kept_len
    pieces = []
    for length in one:
        mask = ok if lo == hi else ok & (lengths == length)
        pieces.append(_Piece(part, base, chunk.filter(pa.array(mask)), np.flatnonzero(mask),
                             int(length)))
    return pieces


def _mix(words: list[U64], length: int) -> I64:
    x = np.full(words[0].shape[0], _SEED ^ np.uint64(length), dtype=np.uint64)
    for w in words:
        x ^= w
        x *= _MUL
        x ^= x >> _S29
    x *= _MUL
    x ^= x >> _S32
    return x.view(np.int64)


def encode(
    parts: list[pd.Series], *, masks: list[npt.NDArray[np.bool_] | None] | None = None,
    want_uniques: bool = True,
) -> tuple[list[I32], pd.Index]:
    """One shared code per distinct id across all `parts` (nulls -1), as int32 per part.

    `masks[i]` (when given and not None) leaves the rows of part i it marks False out: they
    get -1 and their ids do not count, without copying the kept ids first.

    With `want_uniques`, codes follow the order of first appearance (part by part, row by
    row) and the ids are returned in code order as a str Index.
    """
    lens = [len(p) for p in parts]
    pieces: list[_Piece] = []
    for i, p in enumerate(parts):
        if len(p) == 0:
            continue
        base = 0
        mask = masks[i] if masks is not None else None
        for chunk in arrow_strings(p).chunks:
            m = None if mask is None else mask[base: base + len(chunk)]
            pieces.extend(_chunk_pieces(i, chunk, base, m))
            base += len(chunk)
    out = [np.full(n, -1, dtype=np.int32) for n in lens]
    if not pieces:
        return out, pd.Index([], dtype="str")
    with np.errstate(over="ignore"):
        hashes = np.concatenate([_mix(pc.words(), pc.length) for pc in pieces])
    codes = _factorize(hashes) if want_uniques else _factorize_bucketed(hashes)
    del hashes
    k = int(codes.max()) + 1
    at = np.r_[0, np.cumsum([pc.size for pc in pieces])].astype(np.int64)
    if want_uniques and not _in_row_order(pieces):
        # renumber by first appearance in (part, row) order
        part_at = np.r_[0, np.cumsum(lens)].astype(np.int64)
        gpos = np.concatenate([pc.rows() + part_at[pc.part] for pc in pieces])
        first_g = np.full(k, gpos.size, dtype=np.int64)
        np.minimum.at(first_g, codes, gpos)
        del gpos
        renum = np.empty(k, dtype=np.int64)
        renum[np.argsort(first_g, kind="stable")] = np.arange(k)
        codes = renum[codes]
    first = np.empty(k, dtype=np.int64)  # one occurrence per code (the first in piece order)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1, dtype=np.int64)
    rep_piece = (np.searchsorted(at, first, side="right") - 1).astype(np.int64)
    if not _verify(pieces, codes, at, first, rep_piece, k):
        return _exact(_apply_masks(parts, masks), want_uniques)
    for j, pc in enumerate(pieces):
        c = codes[at[j]: at[j + 1]].astype(np.int32)
        if pc.sel is None:
            out[pc.part][pc.base: pc.base + pc.size] = c
        else:
            out[pc.part][pc.sel + pc.base] = c
    del codes
    if not want_uniques:
        return out, pd.Index([], dtype="str")
    return out, _uniques(pieces, first - at[rep_piece], rep_piece)


def _factorize(hashes: I64) -> npt.NDArray[np.intp]:
    codes, _ = pd.factorize(hashes)
    return codes


def _factorize_bucketed(hashes: I64, bits: int = 6) -> npt.NDArray[np.intp]:
    """Codes in no particular order, factorizing 2**bits hash buckets one at a time: ten million
    distinct document ids make one hash table far larger than the CPU caches, while each
    bucket's table fits, and a radix sort on the bucket number costs one pass."""
    if hashes.size < 1 << 20:
        return _factorize(hashes)
    bucket = (hashes.view(np.uint64) >> np.uint64(64 - bits)).astype(np.uint8)
    order = np.argsort(bucket, kind="stable")
    counts = np.bincount(bucket, minlength=1 << bits)
    del bucket
    codes = np.empty(hashes.size, dtype=np.intp)
    at, offset = 0, 0
    for c in counts.tolist():
        sl = order[at: at + c]
        lab, uniq = pd.factorize(hashes[sl])
        codes[sl] = lab + offset
        at, offset = at + c, offset + uniq.size
    return codes


def _in_row_order(pieces: list[_Piece]) -> bool:
    """Pieces list each chunk's rows in ascending order; only a chunk split by id length (two
    pieces from one chunk) breaks the order of appearance."""
    seen: set[tuple[int, int]] = set()
    for pc in pieces:
        if (pc.part, pc.base) in seen:
            return False
        seen.add((pc.part, pc.base))
    return True


def _verify(pieces: list[_Piece], codes: npt.NDArray[np.intp], at: I64, first: I64,
            rep_piece: I64, k: int) -> bool:
    """True when every id equals, byte for byte, the representative of its code."""
    width = max((pc.length + 7) // 8 or 1 for pc in pieces)
    rep = [np.zeros(k, dtype=np.uint64) for _ in range(width)]
    rep_len = np.full(k, -1, dtype=np.int64)
    for j, pc in enumerate(pieces):
        mine = np.flatnonzero(rep_piece == j)
        if mine.size == 0:
            continue
        for r, w in zip(rep, pc.words(), strict=False):
            r[mine] = w[first[mine] - at[j]]
        rep_len[mine] = pc.length
    for j, pc in enumerate(pieces):
        c = codes[at[j]: at[j + 1]]
        if not (rep_len[c] == pc.length).all():
            return False
        for r, w in zip(rep, pc.words(), strict=False):
            if not (r[c] == w).all():
                return False
    return True


def _uniques(pieces: list[_Piece], local: I64, rep_piece: I64) -> pd.Index:
    taken: list[pa.Array] = []
    where: list[I64] = []
    for j, pc in enumerate(pieces):
        mine = np.flatnonzero(rep_piece == j)
        if mine.size == 0:
            continue
        taken.append(pc.compact.take(pa.array(local[mine])).cast(pa.large_string()))
        where.append(mine)
    strings = pa.chunked_array(taken, type=pa.large_string()).combine_chunks()
    order = np.argsort(np.concatenate(where), kind="stable")
    return pd.Index(pd.array(strings.take(pa.array(order)), dtype="str"))


def _exact(parts: list[pd.Series], want_uniques: bool) -> tuple[list[I32], pd.Index]:
    """Arrow's dictionary encoding: exact by construction, used only after a hash collision."""
    chunks: list[pa.Array] = []
    for p in parts:
        chunks.extend(c.cast(pa.large_string()) for c in arrow_strings(p).chunks)
    out = [np.full(len(p), -1, dtype=np.int32) for p in parts]
    if not chunks:
        return out, pd.Index([], dtype="str")
    enc = pa.chunked_array(chunks, type=pa.large_string()).dictionary_encode()
    codes = np.concatenate([c.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
                            for c in enc.chunks])
    at = 0
    for i, p in enumerate(parts):
        out[i] = codes[at: at + len(p)]
        at += len(p)
    if not want_uniques:
        return out, pd.Index([], dtype="str")
    dictionary = enc.chunk(enc.num_chunks - 1).dictionary
    return out, pd.Index(pd.array(dictionary, dtype="str"))


def _apply_masks(parts: list[pd.Series], masks: list[npt.NDArray[np.bool_] | None] | None
                 ) -> list[pd.Series]:
    if masks is None:
        return parts
    return [p if m is None else p.where(pd.Series(m, index=p.index)) for p, m in zip(parts, masks, strict=True)]
