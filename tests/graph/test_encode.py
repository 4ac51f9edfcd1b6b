"""Id encoding: hashed words must give exactly what a plain factorization gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import graph.encode as enc
from graph.encode import encode


def _expected(parts: list[pd.Series], masks: list[np.ndarray | None]) -> tuple[np.ndarray, list[str]]:
    kept = [p.astype(object) if m is None else p.astype(object).where(pd.Series(m, index=p.index))
            for p, m in zip(parts, masks, strict=True)]
    codes, uniq = pd.factorize(pd.concat(kept, ignore_index=True).astype(object), use_na_sentinel=True)
    return codes, [str(u) for u in uniq]


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_mixed_lengths_nulls_masks_and_order_of_appearance(dtype: str) -> None:
    rng = np.random.default_rng(0)
    pool = ["915000000000000001", "91500000000000000X", "EAS0088:1234567890123", "abc", "", "Z",
            "0088:12345678", "0088:12345679", "两江新区企业", "91500000000000000X "]
    parts = [pd.Series(rng.choice(pool, size=k).tolist(), dtype=dtype) for k in (7, 300, 55)]
    parts[1] = parts[1].where(rng.random(300) < 0.8)  # nulls
    masks = [None, rng.random(300) < 0.7, rng.random(55) < 0.5]
    codes, uniq = encode(parts, masks=masks)
    want, want_uniq = _expected(parts, masks)
    np.testing.assert_array_equal(np.concatenate(codes), want)
    assert list(uniq) == want_uniq
    assert all(c.dtype == np.int32 for c in codes)


def test_chunked_arrow_columns_and_no_uniques() -> None:
    ca = pa.chunked_array([pa.array(["A1", "B2", None]), pa.array(["B2", "C3", "A1"])])
    s = pd.Series(pd.array(ca, dtype="str"))
    codes, uniq = encode([s, pd.Series(["C3", "D4"], dtype="str")])
    assert codes[0].tolist() == [0, 1, -1, 1, 2, 0] and codes[1].tolist() == [2, 3]
    assert list(uniq) == ["A1", "B2", "C3", "D4"]
    only, none = encode([s], want_uniques=False)
    assert only[0].tolist() == [0, 1, -1, 1, 2, 0] and len(none) == 0


def test_a_hash_collision_falls_back_to_exact_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    # every id hashes alike: the byte-for-byte check must notice and the exact path decide
    monkeypatch.setattr(enc, "_mix", lambda words, length: np.zeros(words[0].shape[0], np.int64))
    parts = [pd.Series(["915000000000000001", "915000000000000002", "915000000000000001"], dtype="str"),
             pd.Series(["x", None, "915000000000000002"], dtype=object)]
    codes, uniq = encode(parts, masks=[None, np.array([True, True, False])])
    assert codes[0].tolist() == [0, 1, 0] and codes[1].tolist() == [2, -1, -1]
    assert list(uniq) == ["915000000000000001", "915000000000000002", "x"]


def test_empty_parts() -> None:
    codes, uniq = encode([pd.Series([], dtype="str"), pd.Series([None, None], dtype=object)])
    assert codes[0].size == 0 and codes[1].tolist() == [-1, -1] and len(uniq) == 0


def test_many_document_ids_are_factorized_by_buckets_into_the_same_partition() -> None:
    # over 2**20 ids: the bucketed factorization; codes need not follow appearance order,
    # but two rows must share a code exactly when they share an id
    rng = np.random.default_rng(1)
    ids = pd.Series(pd.array([f"PO{i:09d}" for i in range(700_000)], dtype="str"))
    refs = ids.take(rng.integers(0, 700_000, 500_000)).reset_index(drop=True)
    refs = refs.where(rng.random(500_000) < 0.8)
    codes, none = encode([ids, refs], want_uniques=False)
    assert len(none) == 0
    assert np.unique(codes[0]).size == 700_000 and codes[0].min() >= 0
    hit = refs.notna().to_numpy()
    np.testing.assert_array_equal(codes[1][~hit], -1)
    by_id = dict(zip(ids.tolist(), codes[0].tolist(), strict=True))
    want = np.array([by_id[v] for v in refs[hit].tolist()])
    np.testing.assert_array_equal(codes[1][hit], want)


def test_many_rows_of_few_firms_take_the_slot_table_and_keep_appearance_order() -> None:
    # over 2**16 ids: the direct-mapped slot table, with the ids that lose their slot to
    # another id factorized apart; codes and uniques must still be pd.factorize's exactly
    rng = np.random.default_rng(4)
    firms = [f"9150010{i:011d}" for i in range(60_000)] + ["0088:1", "EAS:12345678901234567890"]
    pool = np.array(firms, dtype=object)
    parts = [pd.Series(pool[rng.integers(0, pool.size, k)].tolist(), dtype="str")
             for k in (50_000, 120_000, 90_000)]
    parts[1] = parts[1].where(rng.random(120_000) < 0.9)
    masks = [None, None, rng.random(90_000) < 0.8]
    codes, uniq = encode(parts, masks=masks)
    want, want_uniq = _expected(parts, masks)
    np.testing.assert_array_equal(np.concatenate(codes), want)
    assert list(uniq) == want_uniq


def test_factorize_ints_is_pd_factorize() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 3_000, 200_000) * 1_000_003 + rng.integers(0, 40, 200_000)
    keys[:10] = [-5, 2**62, -(2**63), 0, 0, 7, -5, 2**63 - 1, 1, 1]
    codes, uniq = enc.factorize_ints(keys)
    want_codes, want_uniq = pd.factorize(keys)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(uniq, want_uniq)
    small_codes, small_uniq = enc.factorize_ints(keys[:1000])
    np.testing.assert_array_equal(small_codes, pd.factorize(keys[:1000])[0])
    np.testing.assert_array_equal(small_uniq, pd.factorize(keys[:1000])[1])
