"""Diversity sampling: greedy k-center coresets, and a hybrid that is both uncertain and diverse.

k-center greedy (Sener & Savarese, *Active Learning for Convolutional Neural Networks: A Core-Set
Approach*, ICLR 2018): repeatedly take the sample farthest from everything already chosen, so the
chosen set covers the embedding space with the smallest radius (a 2-approximation of the optimal
k-center cover). Vectorised: one running "distance to the nearest centre" array, updated with
one row of distances per pick, O(N · D) per pick.

Hybrid (after Zhdanov, *Diverse mini-batch Active Learning*, 2019): keep the ``prefilter × n``
most uncertain samples, cluster them into ``n`` groups with k-means weighted by uncertainty, and
take the most uncertain sample of each group, so one batch does not spend its labels on ``n``
near-copies of the same confusing digit.
"""

from __future__ import annotations

import numpy as np

from pocketml.errors import PocketMLError


def _sq_dist_to(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    diff = points - centre
    return np.einsum("ij,ij->i", diff, diff)


def k_center_greedy(embeddings: np.ndarray, n: int, *, centres: np.ndarray | None = None,
                    candidates: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Pick ``n`` rows of ``embeddings`` by greedy k-center, in pick order.

    Parameters
    ----------
    embeddings : ``[N, D]`` features of every sample (pool and already chosen).
    n : how many to pick.
    centres : indices already chosen (e.g. the labelled set); they are covered, never picked.
    candidates : indices that may be picked (default: every row not in ``centres``).
    seed : picks the first sample when there are no ``centres`` (default 0).
    """
    emb = np.asarray(embeddings, dtype=np.float64).reshape(len(embeddings), -1)
    cand = np.arange(len(emb)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    centres = np.empty(0, np.int64) if centres is None else np.asarray(centres, dtype=np.int64)
    cand = np.setdiff1d(cand, centres, assume_unique=False)
    if n > len(cand):
        raise PocketMLError(f"asked for {n} samples but only {len(cand)} are left to pick from",
                            "lower the budget or add samples to the pool")
    pts = emb[cand]
    nearest = np.full(len(cand), np.inf)
    for c in centres:
        np.minimum(nearest, _sq_dist_to(pts, emb[c]), out=nearest)
    picked = np.empty(n, np.int64)
    for i in range(n):
        if i == 0 and len(centres) == 0:
            j = int(np.random.default_rng(seed).integers(len(cand)))
        else:
            j = int(np.argmax(nearest))  # ties: lowest index
        picked[i] = cand[j]
        np.minimum(nearest, _sq_dist_to(pts, pts[j]), out=nearest)
        nearest[j] = -1.0  # never again
    return picked


def hybrid_select(embeddings: np.ndarray, scores: np.ndarray, n: int, *, candidates: np.ndarray,
                  prefilter: int = 10, seed: int = 0) -> np.ndarray:
    """``n`` samples that are uncertain and diverse: top ``prefilter·n`` by score, k-means into
    ``n`` clusters (weighted by score), the most uncertain sample of each cluster.

    ``scores`` are uncertainty scores for ``candidates`` (higher = more uncertain), same order.
    """
    from sklearn.cluster import KMeans

    cand = np.asarray(candidates, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if n > len(cand):
        raise PocketMLError(f"asked for {n} samples but only {len(cand)} are left to pick from",
                            "lower the budget or add samples to the pool")
    if n == len(cand):
        return cand[np.argsort(-scores, kind="stable")]
    keep = np.argsort(-scores, kind="stable")[:min(len(cand), max(n, prefilter * n))]
    if len(keep) == n:
        return cand[keep]
    emb = np.asarray(embeddings, dtype=np.float64).reshape(len(embeddings), -1)[cand[keep]]
    weights = scores[keep] - scores[keep].min() + 1e-6
    labels = KMeans(n_clusters=n, n_init=1, random_state=seed).fit(emb, sample_weight=weights).labels_
    picked = []
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)  # ``keep`` is sorted by score: first = most uncertain
        picked.append(keep[members[0]])
    # k-means may leave clusters empty: fill up with the most uncertain samples not yet picked
    rest = [k for k in keep if k not in set(picked)]
    picked += rest[:n - len(picked)]
    picked = np.asarray(picked)
    return cand[picked[np.argsort(-scores[picked], kind="stable")]]
