"""Data valuation: exact KNN-Shapley values, a brute-force reference, and removal curves.

KNN-Shapley (Jia et al., *Efficient Task-Specific Data Valuation for Nearest Neighbor
Algorithms*, VLDB 2019, Theorem 1). The utility of a training subset S for one test point
(x, y) is the K-nearest-neighbour vote for the right label,

    U(S) = (1/K) · sum_{k=1}^{min(K, |S|)} 1[y_{α_k(S)} = y]        (U(∅) = 0)

where α_k(S) is the k-th nearest point of S to x. Sort the N training points by distance to x
(α_1 nearest); then the Shapley values follow from one backward recursion:

    s_{α_N} = 1[y_{α_N} = y] / N                   (N ≥ K; in general · min(K, N) / K)
    s_{α_i} = s_{α_{i+1}} + (1[y_{α_i} = y] − 1[y_{α_{i+1}} = y]) / K · min(K, i) / i

O(N log N) per test point (the sort). Shapley values are linear in the utility, so the value for
a test set is the mean over its points. Here each block of test points is one matrix: distances,
a row-wise argsort, the recursion as a reversed cumulative sum, and one ``bincount`` to add the
values back to the training points.

Ties in distance are broken by training index (a stable sort): the recursion and the brute force
must agree on one order.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from pocketml.data.selection.checks import as_features, check_labels
from pocketml.data.selection.learners import accuracy, default_learner, fit_clone
from pocketml.errors import PocketMLError


def _check_k(k: int, n_train: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise PocketMLError(f"k must be a positive integer, got {k!r}", "pass k=5 (a common choice) or similar")
    return int(k)


def knn_shapley(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                k: int = 5, *, block: int = 256) -> np.ndarray:
    """Exact KNN-Shapley value of every training point, averaged over the test points.

    Parameters
    ----------
    X_train, y_train : the points to value (any layout; flattened) and their labels.
    X_test, y_test : the points the K-nearest-neighbour classifier is judged on.
    k : neighbours in the classifier (default 5).
    block : test points per vectorised block (memory ``~ 6 · block · N`` float64; default 256).

    Returns
    -------
    ``[N]`` float64: the Shapley value of each training point. The values sum to the mean
    utility of the whole training set (efficiency); negative values hurt the classifier.
    """
    xtr = as_features(X_train, "training")
    xte = as_features(X_test, "valuation")
    ytr = check_labels(y_train, len(xtr), "training", min_classes=1)
    yte = check_labels(y_test, len(xte), "valuation", min_classes=1)
    if xtr.shape[1] != xte.shape[1]:
        raise PocketMLError(f"training samples have {xtr.shape[1]} features, test samples {xte.shape[1]}",
                            "value the training set against test points of the same shape")
    k = _check_k(k, len(xtr))
    n = len(xtr)
    pos = np.arange(1, n)  # i = 1 .. N-1 (1-indexed rank)
    coeff = np.minimum(k, pos) / (k * pos)
    sq_train = np.einsum("ij,ij->i", xtr, xtr)
    total = np.zeros(n)
    for start in range(0, len(xte), block):
        t = xte[start:start + block]
        dist = sq_train[None, :] - 2.0 * (t @ xtr.T)  # + |t|², constant per row: the order ignores it
        order = np.argsort(dist, axis=1, kind="stable")
        match = (ytr[order] == yte[start:start + block, None]).astype(np.float64)
        s = np.empty_like(match)
        s[:, -1] = match[:, -1] * min(k, n) / (k * n)  # = match / N when N ≥ K
        if n > 1:
            step = (match[:, :-1] - match[:, 1:]) * coeff
            s[:, :-1] = s[:, -1:] + np.cumsum(step[:, ::-1], axis=1)[:, ::-1]
        total += np.bincount(order.ravel(), weights=s.ravel(), minlength=n)
    return total / len(xte)


def knn_utility(subset: np.ndarray, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                y_test: np.ndarray, k: int) -> float:
    """Mean over test points of U(S), written plainly (one test point, one subset at a time)."""
    xtr = np.asarray(X_train, dtype=np.float64).reshape(len(X_train), -1)
    xte = np.asarray(X_test, dtype=np.float64).reshape(len(X_test), -1)
    subset = list(subset)
    if not subset:
        return 0.0
    total = 0.0
    for t, label in zip(xte, y_test, strict=True):
        ranked = sorted(subset, key=lambda i: (float(np.sum((xtr[i] - t) ** 2)), i))
        total += sum(1.0 for i in ranked[:k] if y_train[i] == label) / k
    return total / len(xte)


def brute_force_shapley(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                        k: int, *, method: str = "subsets") -> np.ndarray:
    """Shapley values of the KNN utility by definition, for checking ``knn_shapley`` (N ≤ ~12).

    ``method="subsets"``: φ_i = Σ_{S ⊆ N∖{i}} |S|! (N−|S|−1)! / N! · (U(S ∪ {i}) − U(S)).
    ``method="permutations"``: φ_i = mean over all N! orders of i's marginal contribution.
    """
    n = len(X_train)
    if n > 12:
        raise PocketMLError(f"brute-force Shapley over {n} points would take too long",
                            "use it on ≤ 12 points; knn_shapley is exact for any size")
    cache: dict[frozenset, float] = {}

    def u(s: frozenset) -> float:
        if s not in cache:
            cache[s] = knn_utility(sorted(s), X_train, y_train, X_test, y_test, k)
        return cache[s]

    phi = np.zeros(n)
    if method == "subsets":
        for i in range(n):
            others = [j for j in range(n) if j != i]
            for size in range(n):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for s in itertools.combinations(others, size):
                    fs = frozenset(s)
                    phi[i] += weight * (u(fs | {i}) - u(fs))
    elif method == "permutations":
        count = 0
        for perm in itertools.permutations(range(n)):
            before: frozenset = frozenset()
            for i in perm:
                after = before | {i}
                phi[i] += u(after) - u(before)
                before = after
            count += 1
        phi /= count
    else:
        raise PocketMLError(f"unknown brute-force method '{method}'", "use 'subsets' or 'permutations'")
    return phi


@dataclass(frozen=True)
class RemovalCurve:
    """Test accuracy after removing a growing fraction of the training set, in three orders."""

    fractions: tuple[float, ...]
    high_first: tuple[float, ...]  # most valuable removed first: should fall fast
    low_first: tuple[float, ...]  # least valuable removed first: should hold or rise
    random: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"fractions": list(self.fractions), "high_first": list(self.high_first),
                "low_first": list(self.low_first), "random": list(self.random)}


def removal_curve(values: np.ndarray, x: np.ndarray, y: np.ndarray, test: tuple[np.ndarray, np.ndarray],
                  *, fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5), learner=None,
                  seed: int = 0) -> RemovalCurve:
    """Retrain ``learner`` (default: ``default_learner``) after dropping the highest-, lowest- and
    random-valued fractions of ``(x, y)``; return its accuracy on ``test`` at each fraction."""
    y = check_labels(y, len(x), "training")
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(x),):
        raise PocketMLError(f"{len(values)} values for {len(x)} samples", "pass one value per training sample")
    learner = learner if learner is not None else default_learner(seed)
    n_classes = int(max(y.max(), np.max(test[1])) + 1)
    by_value = np.argsort(-values, kind="stable")  # most valuable first
    orders = {"high": by_value, "low": by_value[::-1], "random": np.random.default_rng(seed).permutation(len(x))}
    acc: dict[str, list[float]] = {key: [] for key in orders}
    for f in fractions:
        drop = int(round(f * len(x)))
        for key, order in orders.items():
            keep = np.sort(order[drop:])
            if len(np.unique(y[keep])) < 2:
                acc[key].append(float("nan"))
                continue
            acc[key].append(accuracy(fit_clone(learner, x[keep], y[keep]), test[0], test[1], n_classes))
    return RemovalCurve(tuple(fractions), tuple(acc["high"]), tuple(acc["low"]), tuple(acc["random"]))
