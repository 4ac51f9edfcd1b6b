"""Firm and document ids to dense integer codes, fast and exactly.

A million firms and ten million documents name parties about 75 million times; hashing that
many Python-visible strings (or even arrow's dictionary_encode, ~450 ns a string) costs more
than the whole graph. Ids are short (a USCC is 18 bytes), so each id is read straight from the
arrow buffers as a few 64-bit words (in place, masked rows skipped rather than copied out) and
mixed into one int64. Firm ids (few distinct, many rows) are then numbered through a
direct-mapped table of slots; document ids (nearly all distinct) by hash buckets. A hash can
collide, so the result is then checked byte for byte against one representative per code;
should two different ids ever share a hash, the exact (slow) path decides instead. Codes are
therefore always exact: equal codes mean equal ids. Hashing and checking run in blocks on two
threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from common.threads import map_in_threads
from graph.sorting import stable_argsort

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


_BLOCK = 1 << 16  # rows per block of elementwise work: a block's temporaries stay in cache


@dataclass
class _Piece:
    """Non-null kept ids of one byte length from one arrow chunk, read in place (no copy).

    When every row of the chunk has that length (nulls included), id r occupies bytes
    [r·L, (r+1)·L) of the data buffer and its words are strided views; otherwise each word is
    gathered at the id's own offset through an 8-byte view that advances one byte a row."""

    part: int
    base: int  # position of the chunk's first row in the part
    src: pa.Array  # the chunk
    sel: I64 | None  # rows of the chunk in the piece, ascending (None: all of them)
    length: int
    strided: bool  # every row of the chunk is `length` bytes long

    @property
    def size(self) -> int:
        return len(self.src) if self.sel is None else int(self.sel.size)

    def rows(self) -> I64:
        local = np.arange(self.size, dtype=np.int64) if self.sel is None else self.sel
        return local + self.base

    def words(self, at: slice | I64) -> list[U64]:
        """The bytes of the piece's ids at `at` (a slice or positions in the piece) as
        ceil(L / 8) little-endian words each; the last word of an id of 8 bytes or more is its
        last 8 bytes (overlapping the previous word), so nothing is read outside the id."""
        rows: slice | I64 = at if self.sel is None else self.sel[at]
        length, offsets = self.length, _offsets(self.src)
        data = self.src.buffers()[2]
        buf = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        if self.strided and length >= 8:
            k, start = len(self.src), int(offsets[0])
            return [np.ndarray(shape=(k,), dtype=np.uint64, buffer=buf, strides=(length,),
                               offset=start + min(8 * j, length - 8))[rows]
                    for j in range((length + 7) // 8)]
        pos = offsets[:-1][rows].astype(np.int64)
        if length >= 8:
            bytewise = np.ndarray(shape=(buf.size - 7,), dtype=np.uint64, buffer=buf, strides=(1,))
            return [bytewise[pos + min(8 * j, length - 8)] for j in range((length + 7) // 8)]
        padded = np.zeros((pos.size, 8), dtype=np.uint8)
        if length:
            padded[:, :length] = buf[pos[:, None] + np.arange(length)]
        return [padded.view(np.uint64).reshape(pos.size)]


def _offsets(chunk: pa.Array) -> npt.NDArray[np.int32] | I64:
    """The chunk's n + 1 offsets, a view of its buffer (no copy)."""
    off_type = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
    return np.frombuffer(chunk.buffers()[1], dtype=off_type, count=len(chunk) + 1,
                         offset=chunk.offset * off_type.itemsize)


def _chunk_pieces(part: int, chunk: pa.Array, base: int,
                  mask: npt.NDArray[np.bool_] | None) -> list[_Piece]:
    n = len(chunk)
    if n == 0 or chunk.null_count == n:
        return []
    lengths = np.diff(_offsets(chunk))
    ok = None if chunk.null_count == 0 else np.asarray(chunk.is_valid())
    if mask is not None:
        ok = mask if ok is None else ok & mask
    lo, hi = int(lengths.min()), int(lengths.max())
    if lo == hi:  # one length throughout (nulls included): strided views of the chunk
        if ok is None or bool(ok.all()):
            return [_Piece(part, base, chunk, None, lo, True)]
        sel = np.flatnonzero(ok)
        return [_Piece(part, base, chunk, sel, lo, True)] if sel.size else []
    kept_len = lengths if ok is None else lengths[ok]
    if kept_len.size == 0:
        return []
    lo, hi = int(kept_len.min()), int(kept_len.max())
    del kept_len
    if lo == hi:  # only nulls or masked rows are of another length
        return [_Piece(part, base, chunk, None if ok is None else np.flatnonzero(ok), lo, False)]
    everything = np.ones(n, dtype=bool) if ok is None else ok
    return [_Piece(part, base, chunk, np.flatnonzero(everything & (lengths == length)),
                   int(length), False) for length in np.unique(lengths[everything]).tolist()]


def _mix(words: list[U64], length: int) -> I64:
    x = np.full(words[0].shape[0], _SEED ^ np.uint64(length), dtype=np.uint64)
    for w in words:
        x ^= w
        x *= _MUL
        x ^= x >> _S29
    x *= _MUL
    x ^= x >> _S32
    return x.view(np.int64)


def _spans(pieces: list[_Piece]) -> list[tuple[int, int, int]]:
    """(piece, first row, end row) spans of about a million ids, the unit of work per thread."""
    step = _BLOCK * 16
    return [(j, lo, min(lo + step, pc.size)) for j, pc in enumerate(pieces)
            for lo in range(0, pc.size, step)]


def _hashes(pieces: list[_Piece], at: I64) -> I64:
    """One 64-bit hash per id, pieces one after another, computed a block at a time."""
    out = np.empty(int(at[-1]), dtype=np.int64)

    def work(span: tuple[int, int, int]) -> None:
        j, start, end = span
        pc = pieces[j]
        with np.errstate(over="ignore"):  # error state is per thread
            for lo in range(start, end, _BLOCK):
                hi = min(lo + _BLOCK, end)
                out[at[j] + lo: at[j] + hi] = _mix(pc.words(slice(lo, hi)), pc.length)

    map_in_threads(work, _spans(pieces))
    return out


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
    if not pieces:
        return [np.full(n, -1, dtype=np.int32) for n in lens], pd.Index([], dtype="str")
    at = np.r_[0, np.cumsum([pc.size for pc in pieces])].astype(np.int64)
    hashes = _hashes(pieces, at)
    in_order = _in_row_order(pieces)
    if want_uniques:
        codes, first = _dedupe(hashes, ordered=in_order)
    else:
        codes, first = _factorize_bucketed(hashes)
    del hashes
    k = first.size
    if want_uniques and not in_order:
        # renumber by first appearance in (part, row) order
        part_at = np.r_[0, np.cumsum(lens)].astype(np.int64)
        gpos = np.concatenate([pc.rows() + part_at[pc.part] for pc in pieces])
        first_g = np.full(k, part_at[-1], dtype=np.int64)
        np.minimum.at(first_g, codes, gpos)
        del gpos
        renum = np.empty(k, dtype=np.int64)
        renum[np.argsort(first_g, kind="stable")] = np.arange(k)
        codes = renum[codes]
        first_new = np.empty(k, dtype=np.int64)
        first_new[renum] = first
        first = first_new
    rep_piece = (np.searchsorted(at, first, side="right") - 1).astype(np.int64)
    if not _verify(pieces, codes, at, first, rep_piece, k):
        return _exact(_apply_masks(parts, masks), want_uniques)
    out = _scatter(pieces, codes, at, lens)
    del codes
    if not want_uniques:
        return out, pd.Index([], dtype="str")
    return out, _uniques(pieces, first - at[rep_piece], rep_piece)


def _scatter(pieces: list[_Piece], codes: npt.NDArray[np.intp], at: I64, lens: list[int]
             ) -> list[I32]:
    """Per part, the codes of its rows (-1 for rows in no piece)."""
    out: list[I32 | None] = [None] * len(lens)
    for j, pc in enumerate(pieces):
        c = codes[at[j]: at[j + 1]]
        if pc.sel is None and pc.base == 0 and pc.size == lens[pc.part]:
            out[pc.part] = c.astype(np.int32)  # the piece is the whole part
            continue
        target = out[pc.part]
        if target is None:
            target = out[pc.part] = np.full(lens[pc.part], -1, dtype=np.int32)
        if pc.sel is None:
            target[pc.base: pc.base + pc.size] = c
        else:
            target[pc.sel + pc.base] = c
    return [np.full(n, -1, dtype=np.int32) if o is None else o for o, n in zip(out, lens, strict=True)]


def _dedupe(hashes: I64, ordered: bool) -> tuple[npt.NDArray[np.intp], I64]:
    """Codes 0..k-1, one per distinct hash, and each code's first position in `hashes`.

    With `ordered`, codes follow the order of first appearance (what pd.factorize gives).
    Most hashes are told apart by a direct-mapped table indexed by their top bits: the first
    hash to land in a slot owns it, and a pass of gathers finds the rest that match their
    slot's owner. At tens of millions of values that is a few sequential passes where a hash
    table probed value by value costs several times as much; the few hashes that share a slot
    with another are factorized apart."""
    n = hashes.size
    if n < 1 << 16:
        codes, uniq = pd.factorize(hashes)
        first = np.empty(len(uniq), dtype=np.int64)
        first[codes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)
        return codes, first
    bits = min(max((n - 1).bit_length() - 2, 16), 23)
    size = 1 << bits
    key = np.empty(n, dtype=np.intp)
    np.right_shift(hashes.view(np.uint64), np.uint64(64 - bits), out=key.view(np.uint64))
    owner = np.full(size, -1, dtype=np.int64)  # the first position landing in each slot
    big = _BLOCK * 16
    for hi in range(n, 0, -big):  # backwards, so the first position is written last
        lo = max(hi - big, 0)
        owner[key[lo:hi][::-1]] = np.arange(hi - 1, lo - 1, -1, dtype=np.int64)
    slots = np.flatnonzero(owner >= 0)
    table = np.zeros(size, dtype=np.int64)
    table[slots] = hashes[owner[slots]]
    miss = np.concatenate([np.flatnonzero(np.take(table, key[lo: lo + big]) != hashes[lo: lo + big]) + lo
                           for lo in range(0, n, big)])
    del table
    first = owner[slots]
    del owner
    if miss.size:  # hashes whose slot another hash owns: numbered after the table's slots
        mcodes, muniq = pd.factorize(hashes[miss])
        mfirst = np.empty(len(muniq), dtype=np.int64)
        mfirst[mcodes[::-1]] = miss[::-1]
        key[miss] = mcodes + size
        slots = np.r_[slots, np.arange(size, size + len(muniq))]
        first = np.r_[first, mfirst]
        size += len(muniq)
    del miss
    if ordered:
        o = np.argsort(first, kind="stable")
        slots, first = slots[o], first[o]
    rank = np.empty(size, dtype=np.intp)
    rank[slots] = np.arange(slots.size)
    for lo in range(0, n, big):
        key[lo: lo + big] = np.take(rank, key[lo: lo + big])
    return key, first


def _factorize_bucketed(hashes: I64, bits: int = 6) -> tuple[npt.NDArray[np.intp], I64]:
    """Codes by first appearance and each code's first position, factorizing 2**bits hash
    buckets one at a time: ten million distinct document ids make one hash table (or one
    table of slots) far larger than the CPU caches, while each bucket's table fits, and a
    radix sort on the bucket number costs one pass."""
    if hashes.size < 1 << 20:
        return _dedupe(hashes, ordered=False)
    bucket = (hashes.view(np.uint64) >> np.uint64(64 - bits)).astype(np.uint8)
    order = np.argsort(bucket, kind="stable")
    counts = np.bincount(bucket, minlength=1 << bits)
    del bucket
    codes = np.empty(hashes.size, dtype=np.intp)
    firsts: list[I64] = []
    at, offset = 0, 0
    for c in counts.tolist():
        sl = order[at: at + c]
        lab, uniq = pd.factorize(hashes[sl])
        codes[sl] = lab + offset
        first = np.empty(len(uniq), dtype=np.int64)  # rows of a bucket are in ascending order
        first[lab[::-1]] = sl[::-1]
        firsts.append(first)
        at, offset = at + c, offset + uniq.size
    # renumbered by first appearance: documents then cite codes near their own position, so
    # the lookups that follow walk their tables forwards instead of at random
    first = np.concatenate(firsts)
    order = stable_argsort(first)
    rank = np.empty(first.size, dtype=np.intp)
    rank[order] = np.arange(first.size)
    step = _BLOCK * 16
    for lo in range(0, codes.size, step):
        codes[lo: lo + step] = np.take(rank, codes[lo: lo + step])
    return codes, first[order]


def factorize_ints(keys: I64) -> tuple[npt.NDArray[np.intp], I64]:
    """pd.factorize(keys) for int64 keys (codes by first appearance, and the distinct keys),
    through the slot table of `_dedupe`. The keys are scrambled by a bijection of 64-bit
    words first, so distinct keys stay distinct and their top bits are spread out."""
    x = np.empty(keys.shape[0], dtype=np.uint64)
    step = _BLOCK * 16
    with np.errstate(over="ignore"):
        for lo in range(0, x.size, step):
            v = np.multiply(keys[lo: lo + step].view(np.uint64), _MUL)
            v ^= v >> _S29
            v *= _MUL
            v ^= v >> _S32
            x[lo: lo + step] = v
    codes, first = _dedupe(x.view(np.int64), ordered=True)
    return codes, keys[first]


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
    """True when every id equals, byte for byte, the representative of its code.

    A code's representative words and byte length sit side by side in one row of `rep`, so
    each id costs one gather of a cache line however many words it has."""
    width = max((pc.length + 7) // 8 or 1 for pc in pieces)
    rep = np.zeros((k, width + 1), dtype=np.uint64)
    for j, pc in enumerate(pieces):
        mine = np.flatnonzero(rep_piece == j)
        if mine.size == 0:
            continue
        for i, w in enumerate(pc.words(first[mine] - at[j])):
            rep[mine, i] = w
        rep[mine, width] = pc.length

    def work(span: tuple[int, int, int]) -> bool:
        j, start, end = span
        pc = pieces[j]
        for lo in range(start, end, _BLOCK):
            hi = min(lo + _BLOCK, end)
            got = np.take(rep, codes[at[j] + lo: at[j] + hi], axis=0)
            if not (got[:, width] == pc.length).all():
                return False
            for i, w in enumerate(pc.words(slice(lo, hi))):
                if not (got[:, i] == w).all():
                    return False
        return True

    return all(map_in_threads(work, _spans(pieces)))


def _uniques(pieces: list[_Piece], local: I64, rep_piece: I64) -> pd.Index:
    taken: list[pa.Array] = []
    where: list[I64] = []
    for j, pc in enumerate(pieces):
        mine = np.flatnonzero(rep_piece == j)
        if mine.size == 0:
            continue
        rows = local[mine] if pc.sel is None else pc.sel[local[mine]]
        taken.append(pc.src.take(pa.array(rows)).cast(pa.large_string()))
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
