"""Split a training set among simulated clients: IID, Dirichlet label skew, or size skew.

Every scheme is seeded, gives each client at least ``min_size`` samples, and returns one index
array per client into the training split (clients never see each other's samples).

* ``iid``            shuffle, then deal out equal shares;
* ``dirichlet:A``    per class, shares drawn from Dirichlet(A·1) over clients (A small = each
                     client sees few classes; A = 100 is close to IID);
* ``size:S``         IID labels, client sizes proportional to a log-normal with sigma S
                     (a few phones hold most of the data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.errors import PocketMLError

SCHEMES = ("iid", "dirichlet:ALPHA", "size:SIGMA")


@dataclass(frozen=True)
class Partitioning:
    """A parsed partition scheme: ``kind`` is iid, dirichlet or size; ``param`` its parameter."""

    kind: str
    param: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Partitioning:
        kind, _, value = text.strip().lower().partition(":")
        if kind == "iid" and not value:
            return cls("iid")
        if kind in ("dirichlet", "size"):
            try:
                param = float(value)
            except ValueError:
                param = float("nan")
            if not np.isfinite(param) or param <= 0:
                what = "alpha" if kind == "dirichlet" else "sigma"
                raise PocketMLError(f"partition '{text}' needs a positive {what}, got '{value}'",
                                    f"write e.g. {kind}:0.5 ({what} > 0)")
            return cls(kind, param)
        raise PocketMLError(f"unknown partition scheme '{text}'", f"use one of: {', '.join(SCHEMES)}")

    def __str__(self) -> str:
        return self.kind if self.kind == "iid" else f"{self.kind}:{self.param:g}"


def partition(labels: np.ndarray, n_clients: int, scheme: str | Partitioning, *, seed: int = 0,
              min_size: int | None = None) -> list[np.ndarray]:
    """Return ``n_clients`` disjoint index arrays into ``labels`` following ``scheme``.

    ``min_size`` defaults to 2 samples per client (a BatchNorm batch), or 1 when there are more
    than half as many clients as samples (the 1,000-client digits fleet).
    """
    spec = scheme if isinstance(scheme, Partitioning) else Partitioning.parse(scheme)
    n = len(labels)
    if n_clients < 1:
        raise PocketMLError(f"{n_clients} clients requested", "pass --clients 1 or more")
    if min_size is None:
        min_size = 2 if n >= 2 * n_clients else 1
    if n_clients * min_size > n:
        raise PocketMLError(
            f"{n_clients} clients with at least {min_size} samples each need {n_clients * min_size} "
            f"training samples; the training split has {n}",
            f"use at most {n // min_size} clients for this dataset (each needs a sample of its own)")
    rng = np.random.default_rng(seed)
    if spec.kind == "iid":
        return [np.sort(part) for part in np.array_split(rng.permutation(n), n_clients)]
    if spec.kind == "size":
        weights = rng.lognormal(0.0, spec.param, n_clients)
        return _deal_by_weights(rng.permutation(n), weights, min_size)
    return _dirichlet(labels, n_clients, spec.param, rng, min_size)


def _deal_by_weights(order: np.ndarray, weights: np.ndarray, min_size: int) -> list[np.ndarray]:
    """Cut ``order`` into consecutive pieces sized min_size + a share of the rest by ``weights``."""
    spare = len(order) - min_size * len(weights)
    extra = np.floor(spare * weights / weights.sum()).astype(int)
    extra[: spare - extra.sum()] += 1
    cuts = np.cumsum(min_size + extra)[:-1]
    return [np.sort(part) for part in np.split(order, cuts)]


def _dirichlet(labels: np.ndarray, n_clients: int, alpha: float, rng: np.random.Generator,
               min_size: int) -> list[np.ndarray]:
    """Label skew: each class's samples are split among clients by a Dirichlet(alpha) draw.

    Clients left with fewer than ``min_size`` samples take them from the largest client (random
    samples), so the label skew is kept while no client is empty.
    """
    owners = np.empty(len(labels), dtype=np.int64)
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        shares = rng.dirichlet(np.full(n_clients, alpha))
        owners[idx] = rng.choice(n_clients, size=len(idx), p=shares)
    counts = np.bincount(owners, minlength=n_clients)
    for client in np.flatnonzero(counts < min_size):
        while counts[client] < min_size:
            donor = int(np.argmax(counts))
            moved = rng.choice(np.flatnonzero(owners == donor))
            owners[moved] = client
            counts[donor] -= 1
            counts[client] += 1
    return [np.flatnonzero(owners == c) for c in range(n_clients)]
