"""The sort- and table-based fast paths against plain definitions, on random data."""

from __future__ import annotations

import numpy as np
import pytest

from graph.flags import same_trade_order
from graph.matching import (
    lookup_ref,
    match_window,
    pair_day_order,
    sorted_search,
    stable_argsort,
    within,
)
from graph.prepare import NAT_DAY
from graph.verify import _allocate


@pytest.mark.parametrize("seed", [0, 1])
def test_sorted_search_is_searchsorted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sk = np.sort(rng.integers(0, 5000, 30_000))
    keys = rng.integers(-10, 5010, 40_000)
    for side in ("left", "right"):
        np.testing.assert_array_equal(sorted_search(sk, keys, side), np.searchsorted(sk, keys, side))


def test_same_trade_order_groups_like_lexsort() -> None:
    rng = np.random.default_rng(2)
    n = 20_000
    s, b = rng.integers(0, 30, n), rng.integers(0, 30, n)
    cents = rng.choice([100, 250, 999], n).astype(np.int64)
    day = rng.integers(19_000, 19_400, n)
    want = np.lexsort((day, cents, b, s))
    got = same_trade_order(s, b, cents, day)
    # every (seller, buyer, amount) group is contiguous and in the same order as lexsort's
    def groups(order: np.ndarray) -> dict[tuple[int, int, int], list[int]]:
        out: dict[tuple[int, int, int], list[int]] = {}
        last = None
        for k in order.tolist():
            g = (int(s[k]), int(b[k]), int(cents[k]))
            assert g == last or g not in out  # contiguous
            out.setdefault(g, []).append(k)
            last = g
        return out

    assert groups(got) == groups(want)
    # a day span too wide for the radix pass takes the exact lexsort
    day2 = day.copy()
    day2[0] = -70_000
    np.testing.assert_array_equal(same_trade_order(s, b, cents, day2), np.lexsort((day2, cents, b, s)))


def test_lookup_ref_first_document_of_the_same_issuer() -> None:
    rng = np.random.default_rng(3)
    r_party, r_id = rng.integers(0, 5, 400), rng.integers(-1, 150, 400)  # ids shared by issuers
    l_party, l_ref = rng.integers(-1, 5, 600), rng.integers(-1, 160, 600)
    got = lookup_ref(l_party, l_ref, r_party, r_id)
    first: dict[tuple[int, int], int] = {}
    for i, (p, d) in enumerate(zip(r_party.tolist(), r_id.tolist(), strict=True)):
        if d >= 0:
            first.setdefault((p, d), i)
    want = [first.get((p, d), -1) if p >= 0 and d >= 0 else -1
            for p, d in zip(l_party.tolist(), l_ref.tolist(), strict=True)]
    assert got.tolist() == want
    assert (got >= 0).sum() > 50


def test_match_window_matches_obey_the_rules_and_need_no_given_order() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    l_pair, l_day = rng.integers(0, 200, n), rng.integers(1000, 1400, n)
    l_amt = np.round(rng.choice([100.0, 500.0, 2000.0], n) * rng.uniform(0.995, 1.005, n), 2)
    r_pair, r_day = rng.integers(0, 200, n), rng.integers(900, 1400, n)
    r_amt = np.round(rng.choice([100.0, 500.0, 2000.0], n) * rng.uniform(0.995, 1.005, n), 2)
    got = match_window(l_pair, l_day, (l_amt,), r_pair, r_day, r_amt, -60, 30, 0.01, 1.0)
    same = match_window(l_pair, l_day, (l_amt,), r_pair, r_day, r_amt, -60, 30, 0.01, 1.0,
                        l_order=pair_day_order(l_pair, l_day))
    np.testing.assert_array_equal(got, same)
    hit = got >= 0
    assert hit.sum() > 100
    c = got[hit]
    assert (r_pair[c] == l_pair[hit]).all()
    d = r_day[c] - l_day[hit]
    assert ((d >= -60) & (d <= 30)).all()
    assert within(l_amt[hit], r_amt[c], 0.01, 1.0).all()
    np.testing.assert_array_equal(got, _match_by_definition(l_pair, l_day, l_amt, r_pair, r_day, r_amt))


def _match_by_definition(l_pair, l_day, l_amt, r_pair, r_day, r_amt):  # type: ignore[no-untyped-def]
    """The two passes of match_window, one document at a time: the three latest documents of
    the pair not after day + 30, then the four nearest in rounded amount (0, -1, +1, -2)."""
    out = []
    for i in range(l_pair.size):
        mine = np.flatnonzero(r_pair == l_pair[i])

        def admissible(k: int, i: int = i) -> bool:
            d = r_day[k] - l_day[i]
            return bool(-60 <= d <= 30 and within(l_amt[i], r_amt[k], 0.01, 1.0))

        by_day = sorted(mine.tolist(), key=lambda k: (r_day[k], k))
        latest = [k for k in by_day if r_day[k] <= l_day[i] + 30][::-1][:3]
        found = next((k for k in latest if admissible(k)), -1)
        if found < 0:
            by_amt = sorted(mine.tolist(), key=lambda k: (round(r_amt[k]), k))
            keys = [round(r_amt[k]) for k in by_amt]
            pos = int(np.searchsorted(keys, round(l_amt[i]), side="left"))
            for off in (0, -1, 1, -2):
                if 0 <= pos + off < len(by_amt) and admissible(by_amt[pos + off]):
                    found = by_amt[pos + off]
                    break
        out.append(found)
    return np.asarray(out)


def _allocate_by_definition(i_pair, i_day, due, p_pair, p_day, p_amt, rel, abs_cny):  # type: ignore[no-untyped-def]
    alloc = np.zeros(i_pair.size)
    done = np.full(i_pair.size, NAT_DAY, dtype=np.int64)
    for pair in np.unique(i_pair):
        inv = sorted(np.flatnonzero(i_pair == pair), key=lambda k: (i_day[k], k))
        pay = sorted(np.flatnonzero(p_pair == pair), key=lambda k: (p_day[k], k))
        total = sum(p_amt[k] for k in pay)
        before = 0.0
        for k in inv:
            alloc[k] = min(max(total - before, 0.0), due[k])
            need = before + due[k] - max(rel * due[k], abs_cny)
            run = 0.0
            for q in pay:
                run += p_amt[q]
                if run >= need:
                    done[k] = p_day[q]
                    break
            before += due[k]
    return alloc, done


@pytest.mark.parametrize("seed", [5, 6])
def test_allocation_oldest_first_by_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ni, npay = 400, 300
    i_pair, i_day = rng.integers(0, 40, ni), rng.integers(100, 300, ni)
    due = np.round(rng.choice([0.0, 100.0, 250.0, 1000.0], ni), 2)
    p_pair, p_day = rng.integers(0, 45, npay), rng.integers(100, 400, npay)
    p_amt = np.round(rng.choice([50.0, 100.0, 249.5, 900.0], npay), 2)
    got_a, got_d = _allocate(i_pair, i_day, due, p_pair, p_day, p_amt, 45, 0.01, 1.0)
    want_a, want_d = _allocate_by_definition(i_pair, i_day, due, p_pair, p_day, p_amt, 0.01, 1.0)
    np.testing.assert_allclose(got_a, want_a, atol=1e-9)
    np.testing.assert_array_equal(got_d, want_d)
    assert (got_d != NAT_DAY).sum() > 50


@pytest.mark.parametrize("span", [50, 2**40, 2**62])
def test_stable_argsort_is_numpys_stable_argsort(span: int) -> None:
    # small spans take the composite sort, spans too wide for the row number numpy's own
    rng = np.random.default_rng(span % 97)
    keys = rng.integers(-span, span, 70_000, dtype=np.int64)
    keys[::7] = keys[0]  # many ties, which must keep row order
    got = stable_argsort(keys)
    np.testing.assert_array_equal(got, np.argsort(keys, kind="stable"))
    assert stable_argsort(keys[:1]).tolist() == [0] and stable_argsort(keys[:0]).size == 0
