"""``select``: pick the training samples worth keeping, under a label budget and/or a byte budget.

One entry point over the strategies of this package:

    drop suspects (optional) ─▶ rank the pool by a strategy ─▶ cut to the budget (count, bytes)

- ``random``, ``least-confidence``, ``margin``, ``entropy``, ``kcenter``, ``hybrid``: with labels
  (or an oracle) the active-learning loop picks the samples in query order; with only a trained
  ``model`` and no labels it is one batch scored by that model.
- ``value``: the highest KNN-Shapley values on a trusted validation split first, classes in turn.
  (Measured on digits, this is *worse* than random for a small budget: the most valuable
  samples are the most typical ones. Use it to rank what to keep of a pool already small, and
  ``hybrid`` to fill a small budget; BENCHMARKS.md has both.)

A byte budget (a device's flash) keeps the highest-ranked samples that fit: each stored sample
costs its input bytes as stored plus a label byte, unless ``sample_bytes`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pocketml.data.dataset import Split
from pocketml.data.selection.active import STRATEGIES, ActiveLearner, LabelOracle
from pocketml.data.selection.checks import as_features, bytes_per_sample, check_labels, n_from_budget
from pocketml.data.selection.diversity import hybrid_select, k_center_greedy
from pocketml.data.selection.embeddings import embed
from pocketml.data.selection.noise import NoiseReport, noise_report
from pocketml.data.selection.uncertainty import UNCERTAINTY, predict_proba, uncertainty
from pocketml.data.selection.valuation import knn_shapley
from pocketml.errors import PocketMLError

SELECT_STRATEGIES = (*STRATEGIES, "value")


@dataclass(frozen=True, eq=False)
class Selection:
    """The samples ``select`` kept, in rank order, and why."""

    indices: np.ndarray  # pool indices kept, highest-ranked first
    strategy: str
    n_pool: int
    sample_bytes: int  # bytes one stored sample takes
    budget_bytes: int | None
    dropped: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # suspects removed first
    values: np.ndarray | None = None  # KNN-Shapley value of every pool sample, when computed
    noise: NoiseReport | None = None

    @property
    def stored_bytes(self) -> int:
        return len(self.indices) * self.sample_bytes

    def subset(self, split: Split) -> Split:
        """The kept samples of ``split`` (the pool ``select`` ran on), in pool order."""
        keep = np.sort(self.indices)
        return Split(split.x[keep], split.y[keep])

    def figures(self) -> dict:
        """The summary a pipeline stage or ``selection.json`` records (no per-sample arrays)."""
        return {"strategy": self.strategy, "n_pool": self.n_pool, "n_selected": int(len(self.indices)),
                "fraction": round(len(self.indices) / self.n_pool, 4), "sample_bytes": self.sample_bytes,
                "stored_bytes": self.stored_bytes, "budget_bytes": self.budget_bytes,
                "n_dropped_suspects": int(len(self.dropped))}

    def to_dict(self) -> dict:
        return {**self.figures(), "indices": self.indices.tolist(), "dropped_suspects": self.dropped.tolist(),
                "values": None if self.values is None else [round(float(v), 8) for v in self.values],
                "noise": None if self.noise is None else self.noise.to_dict()}


def select(
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    strategy: str = "hybrid",
    budget: int | float | None = None,
    budget_bytes: int | None = None,
    sample_bytes: int | None = None,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    model=None,
    learner=None,
    oracle: Callable[[np.ndarray], np.ndarray] | None = None,
    drop_suspects: bool = False,
    suspect_method: str = "auto",
    k: int = 5,
    batch_size: int = 20,
    n_initial: int = 20,
    seed: int = 0,
    state: str | Path | None = None,
) -> Selection:
    """Pick the samples of ``x`` worth labelling or keeping.

    Parameters
    ----------
    x : the pool (any layout; one sample per row).
    y : its labels, if known (the loop then asks them of a simulated oracle as it goes).
    strategy : one of ``SELECT_STRATEGIES`` (default ``"hybrid"``).
    budget : samples to keep: a count (int) or a fraction of the pool (float); default all that
        fit ``budget_bytes``.
    budget_bytes : bytes the kept samples may take (e.g. ``device.flash_bytes``).
    sample_bytes : bytes one stored sample takes (default: one row of ``x`` as stored + label).
    val : a trusted labelled split ``(x_val, y_val)``: needed by ``value`` and by the Shapley half
        of ``drop_suspects``.
    model : a trained classifier (torch module or scikit-learn) to score an unlabelled pool.
    learner : what the active-learning loop retrains (default logistic regression).
    oracle : labels queried samples when ``y`` is not given (``oracle(indices) -> labels``).
    drop_suspects : remove likely mislabelled samples (``noise_report``) before ranking.
    suspect_method : ``"auto"`` (negative KNN-Shapley on ``val``, else cleanlab), ``"shapley"``,
        ``"cleanlab"`` or ``"both"`` (see ``noise_report``).
    k : neighbours for KNN-Shapley (default 5).
    batch_size, n_initial : the loop's query batch and random seed set (default 20 and 20).
    seed : fixes every random choice (default 0).
    state : a JSON file the loop saves to after each batch and resumes from.
    """
    if strategy not in SELECT_STRATEGIES:
        raise PocketMLError(f"unknown selection strategy '{strategy}'", f"use one of {', '.join(SELECT_STRATEGIES)}")
    flat = as_features(x, "pool")
    x = np.asarray(x)
    if y is not None:
        y = check_labels(y, len(x), "pool")
    if val is not None:
        as_features(val[0], "validation")
        val = (np.asarray(val[0]), check_labels(val[1], len(val[0]), "validation", min_classes=1))
    n_classes = int(max(y.max() if y is not None else 1, val[1].max() if val is not None else 1) + 1)
    size = int(sample_bytes) if sample_bytes is not None else bytes_per_sample(x, n_classes)
    n_keep = _keep_count(budget, budget_bytes, size, len(x))
    values, noise = _values_and_suspects(flat, y, val, strategy, drop_suspects, suspect_method, k, seed)
    dropped = noise.suspects if noise is not None else np.empty(0, np.int64)
    candidates = np.setdiff1d(np.arange(len(x)), dropped)
    if len(candidates) == 0:
        raise PocketMLError("every sample was flagged as a suspect", "check the labels, or leave drop_suspects off")
    n_keep = min(n_keep, len(candidates))

    if strategy == "value":
        ranked = candidates[_by_value_per_class(values[candidates], y[candidates])]
    elif n_keep == len(candidates) and strategy != "kcenter" and oracle is None:
        ranked = candidates  # everything is kept: no need to rank (kcenter still orders a coreset)
    elif y is not None or oracle is not None:
        loop = ActiveLearner(strategy, learner, batch_size=batch_size, n_initial=n_initial, seed=seed)
        ask = oracle if oracle is not None else LabelOracle(y)
        loop.run(x[candidates], lambda idx: ask(candidates[idx]), n_keep, n_classes=n_classes, state=state)
        ranked = candidates[loop.labeled_]
    else:
        ranked = candidates[_one_shot(strategy, model, x[candidates], n_keep, seed)]
    return Selection(np.asarray(ranked[:n_keep], dtype=np.int64), strategy, len(x), size,
                     None if budget_bytes is None else int(budget_bytes), dropped, values, noise)


def _keep_count(budget: int | float | None, budget_bytes: int | None, size: int, n: int) -> int:
    """How many samples to keep: the count or fraction asked for, at most what fits ``budget_bytes``."""
    n_keep = n_from_budget(budget, n)
    if budget_bytes is not None:
        if budget_bytes < size:
            raise PocketMLError(f"the byte budget ({budget_bytes:,} B) is smaller than one sample ({size:,} B)",
                                "raise the budget (e.g. a board with more flash), or store samples smaller "
                                "(e.g. uint8 inputs: pass sample_bytes)")
        n_keep = min(n_keep, int(budget_bytes) // size)
    return n_keep


def _values_and_suspects(flat: np.ndarray, y, val, strategy: str, drop_suspects: bool, suspect_method: str, k: int,
                         seed: int) -> tuple[np.ndarray | None, NoiseReport | None]:
    """KNN-Shapley values (for ``value`` and the Shapley half of ``drop_suspects``) and the noise report."""
    values = noise = None
    if strategy == "value" or (drop_suspects and val is not None and suspect_method != "cleanlab"):
        if val is None:
            raise PocketMLError("strategy 'value' ranks samples by KNN-Shapley on a validation split, "
                                "and none was given", "pass val=(x_val, y_val) (a small trusted labelled split)")
        if y is None:
            raise PocketMLError("KNN-Shapley values need the pool's labels", "pass y, or another strategy")
        values = knn_shapley(flat, y, val[0], val[1], k)
    if drop_suspects:
        if y is None:
            raise PocketMLError("--drop-suspects looks for wrong labels, and the pool has none",
                                "pass the labels y, or leave drop_suspects off")
        noise = noise_report(flat, y, val, method=suspect_method, k=k, seed=seed, values=values)
    return values, noise


def _by_value_per_class(values: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Positions ranked by value within each class, the classes taken in turn (best of each
    class, then second best of each, ...): plain top values crowd out the harder classes."""
    rank_in_class = np.empty(len(y), np.int64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        rank_in_class[members[np.argsort(-values[members], kind="stable")]] = np.arange(len(members))
    return np.lexsort((-values, rank_in_class))


def _one_shot(strategy: str, model, x: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Rank an unlabelled pool in one batch with a trained ``model`` (or raw features)."""
    if strategy == "random":
        return np.random.default_rng(seed).permutation(len(x))[:n]
    if strategy == "kcenter":
        return k_center_greedy(embed(model, x) if model is not None else x.reshape(len(x), -1), n, seed=seed)
    if model is None:
        raise PocketMLError(f"strategy '{strategy}' needs a model's probabilities or labels, and got neither",
                            "pass y (labels) or oracle= for active learning, model= for one batch, or use kcenter")
    proba = predict_proba(model, x)
    scores = uncertainty(proba, "margin" if strategy == "hybrid" else strategy)
    if strategy in UNCERTAINTY:
        return np.argsort(-scores, kind="stable")[:n]
    return hybrid_select(embed(model, x), scores, n, candidates=np.arange(len(x)), seed=seed)


@dataclass(frozen=True)
class SelectionPlan:
    """A selection to run before training, as ``shrink_builtin(..., select=SelectionPlan(...))``
    and ``pocketml shrink --select`` do: the fields are ``select``'s arguments of the same name."""

    strategy: str = "hybrid"
    budget: int | float | None = None
    budget_bytes: int | None = None
    drop_suspects: bool = False
    suspect_method: str = "auto"
    seed: int = 0

    def apply(self, train: Split, val: Split | None = None) -> Selection:
        """Select from the ``train`` split (valuing against ``val`` when given)."""
        return select(train.x, train.y, strategy=self.strategy, budget=self.budget, budget_bytes=self.budget_bytes,
                      val=None if val is None else (val.x, val.y), drop_suspects=self.drop_suspects,
                      suspect_method=self.suspect_method, seed=self.seed)
