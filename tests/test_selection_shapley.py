"""KNN-Shapley: the closed-form recursion equals Shapley values by definition, and it is fast."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pocketml.data.selection import brute_force_shapley, knn_shapley
from pocketml.data.selection.valuation import knn_utility
from pocketml.errors import PocketMLError


def _toy(seed: int, n: int, n_test: int = 3, classes: int = 3, dims: int = 2):
    r = np.random.default_rng(seed)
    return (r.normal(size=(n, dims)), r.integers(0, classes, n), r.normal(size=(n_test, dims)),
            r.integers(0, classes, n_test))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 10])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_matches_brute_force_over_subsets(n, k):
    x, y, xt, yt = _toy(seed=10 * n + k, n=n)
    exact = brute_force_shapley(x, y, xt, yt, k, method="subsets")
    assert np.max(np.abs(knn_shapley(x, y, xt, yt, k) - exact)) <= 1e-9


@pytest.mark.parametrize("k", [1, 2, 4])
def test_matches_brute_force_over_permutations(k):
    x, y, xt, yt = _toy(seed=k, n=7, n_test=4, classes=2)
    exact = brute_force_shapley(x, y, xt, yt, k, method="permutations")
    assert np.max(np.abs(knn_shapley(x, y, xt, yt, k) - exact)) <= 1e-9


def test_ties_in_distance_are_broken_the_same_way():
    # Prepare: duplicated points and integer coordinates make many exactly equal distances
    x = np.array([[0, 0], [0, 0], [1, 0], [0, 1], [1, 1], [1, 0], [2, 2], [0, 0]], dtype=float)
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    xt, yt = np.array([[0.5, 0.5], [0, 0]]), np.array([1, 0])
    for k in (1, 2, 3):
        assert np.max(np.abs(knn_shapley(x, y, xt, yt, k) - brute_force_shapley(x, y, xt, yt, k))) <= 1e-9


def test_efficiency_values_sum_to_the_utility_of_everything():
    x, y, xt, yt = _toy(seed=3, n=60, n_test=20, classes=4, dims=5)
    values = knn_shapley(x, y, xt, yt, 5, block=7)  # several blocks, one partial
    assert values.sum() == pytest.approx(knn_utility(range(60), x, y, xt, yt, 5), abs=1e-12)


def test_hand_computed_single_test_point():
    # 1-D: distances to 0 are 1, 2, 3; labels match, miss, match; K = 1
    x, y = np.array([[1.0], [2.0], [3.0]]), np.array([0, 1, 0])
    # s3 = 1/3; s2 = s3 + (0 - 1)/1 * 1/2 = -1/6; s1 = s2 + (1 - 0) * 1/1 = 5/6
    assert knn_shapley(x, y, np.array([[0.0]]), np.array([0]), 1) == pytest.approx([5 / 6, -1 / 6, 1 / 3])


def test_ten_thousand_by_one_thousand_under_30_s():
    r = np.random.default_rng(0)
    x, y = r.normal(size=(10_000, 64)), r.integers(0, 10, 10_000)
    xt, yt = r.normal(size=(1_000, 64)), r.integers(0, 10, 1_000)
    t = time.perf_counter()
    values = knn_shapley(x, y, xt, yt, 5)
    assert time.perf_counter() - t < 30
    assert values.shape == (10_000,) and np.isfinite(values).all()


def test_bad_input_is_refused():
    x, y, xt, yt = _toy(seed=0, n=5)
    x[2, 1] = np.nan
    with pytest.raises(PocketMLError, match="NaN"):
        knn_shapley(x, y, xt, yt, 3)
    x, y, xt, yt = _toy(seed=0, n=5)
    with pytest.raises(PocketMLError, match="k must be"):
        knn_shapley(x, y, xt, yt, 0)
    with pytest.raises(PocketMLError, match="features"):
        knn_shapley(x, y, xt[:, :1], yt, 3)
    with pytest.raises(PocketMLError, match="labels"):
        knn_shapley(x, y[:4], xt, yt, 3)
