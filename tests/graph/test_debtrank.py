from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graph import debtrank
from graph import reference as ref
from graph.contagion import exposure_to

W = np.array([[0, 0.5, 0], [0.2, 0, 1], [0, 0.25, 0]])


def test_issue_vector_one_step() -> None:
    # h(2) = h(1) + W (h(1) - h(0)) = [0,.5,0] + [.5*.5, 0, .25*.5] = [.25, .5, .125]
    np.testing.assert_allclose(debtrank(W, [0, 0.5, 0], steps=1), [0.25, 0.5, 0.125])
    np.testing.assert_allclose(debtrank(sp.csr_matrix(W), [0, 0.5, 0], steps=1), [0.25, 0.5, 0.125])
    np.testing.assert_allclose(debtrank(W, [0, 0.5, 0], linear=False, steps=1), [0.25, 0.5, 0.125])


def test_two_steps_by_hand() -> None:
    # linear: Δh(2) = [.25, 0, .125]; W Δh(2) = [0, .2*.25 + 1*.125, 0] = [0, .175, 0]
    # h(3) = [.25, .675, .125]
    np.testing.assert_allclose(debtrank(W, [0, 0.5, 0], steps=2), [0.25, 0.675, 0.125])
    # original: at t=2 firms 0 and 2 are distressed, firm 1 inactive:
    # h1(3) = .5 + .2*.25 + 1*.125 = .675; firms 0 and 2 receive nothing (1 is inactive)
    np.testing.assert_allclose(debtrank(W, [0, 0.5, 0], linear=False, steps=2), [0.25, 0.675, 0.125])


@pytest.mark.parametrize("linear", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_to_convergence(linear: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.random((12, 12)) * (rng.random((12, 12)) < 0.3) * 0.6
    np.fill_diagonal(w, 0)
    shock = np.zeros(12)
    shock[rng.integers(0, 12, 2)] = [1.0, 0.4]
    got = debtrank(w, shock, linear=linear)
    np.testing.assert_allclose(got, ref.debtrank(w, shock, linear=linear), atol=1e-9)
    assert np.all((got >= 0) & (got <= 1))
    assert np.all(got >= shock - 1e-12)  # distress never falls


def test_truncated_exposure_equals_two_step_debtrank() -> None:
    rng = np.random.default_rng(5)
    n = 15
    w = rng.random((n, n)) * (rng.random((n, n)) < 0.35)
    np.fill_diagonal(w, 0)
    target = rng.integers(-1, n, n)
    target[target == np.arange(n)] = -1
    got = exposure_to(sp.csr_matrix(w), target, steps=2)
    for i in range(n):
        if target[i] < 0:
            assert got[i] == 0.0
            continue
        shock = np.zeros(n)
        shock[target[i]] = 1.0
        assert got[i] == pytest.approx(debtrank(w, shock, steps=2)[i], abs=1e-12)


def test_bad_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="shock has 2"):
        debtrank(W, [0, 1])
