"""Label-noise detection: cleanlab's confident learning, compared with the lowest KNN-Shapley values.

Confident learning (Northcutt, Jiang & Chuang, *Confident Learning: Estimating Uncertainty in
Dataset Labels*, JAIR 2021) needs out-of-sample class probabilities: here k-fold cross-validated
``predict_proba`` of the learner, so no sample is judged by a model that saw its own label.
``cleanlab.filter.find_label_issues`` then flags the samples whose given label the joint
distribution of (given, predicted) labels says is likely wrong.

The comparison: the same number of training samples with the lowest KNN-Shapley value on a
clean validation split (a mislabelled sample pulls its neighbours' votes the wrong way, so its
value goes negative). Suspects are the negative-valued samples (default with a trusted split:
on digits with 10% flipped labels they were the most precise and recovered the most accuracy;
see BENCHMARKS.md), cleanlab's flags (default without one), or the union of both. With the
true flipped set known (a benchmark), each set gets precision and recall.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pocketml.data.selection.checks import as_features, check_labels
from pocketml.data.selection.learners import _flat
from pocketml.data.selection.valuation import knn_shapley
from pocketml.errors import PocketMLError


def out_of_fold_proba(x: np.ndarray, y: np.ndarray, *, learner=None, folds: int = 5, seed: int = 0) -> np.ndarray:
    """``[N, C]`` probabilities for each sample from a model trained on the other folds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = check_labels(y, len(x), "training")
    smallest = int(np.bincount(y)[np.unique(y)].min())
    if smallest < 2:
        raise PocketMLError("a class has a single sample; cross-validated probabilities need two or more",
                            "add samples of that class or drop it before looking for label issues")
    learner = learner if learner is not None else detector_learner(seed)
    cv = StratifiedKFold(n_splits=min(folds, smallest), shuffle=True, random_state=seed)
    proba = cross_val_predict(learner, _flat(learner, x), y, cv=cv, method="predict_proba")
    return np.asarray(proba, dtype=np.float64)


def find_label_issues(x: np.ndarray, y: np.ndarray, *, learner=None, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Boolean mask of samples cleanlab flags as probably mislabelled (confident learning)."""
    from cleanlab.filter import find_label_issues as cl_find_label_issues

    as_features(x, "training")
    y = check_labels(y, len(x), "training")
    if not np.array_equal(np.unique(y), np.arange(y.max() + 1)):
        raise PocketMLError(f"the training labels skip class ids (present: {np.unique(y).tolist()})",
                            "encode the classes as consecutive integers 0..C-1 (sklearn LabelEncoder)")
    proba = out_of_fold_proba(x, y, learner=learner, folds=folds, seed=seed)
    return np.asarray(cl_find_label_issues(labels=y, pred_probs=proba, filter_by="prune_by_noise_rate"), dtype=bool)


SUSPECT_METHODS = ("auto", "shapley", "cleanlab", "both")


@dataclass(frozen=True)
class NoiseReport:
    """What cleanlab flags, what KNN-Shapley ranks lowest, and how they (and the truth) agree.

    ``suspects`` is what ``--drop-suspects`` removes: the samples with a negative KNN-Shapley
    value (the default when a trusted validation split is given), cleanlab's flags (the default
    without one), or both (the union). ``method`` says which; all sets are kept for comparison.
    """

    method: str
    suspects: np.ndarray  # indices, sorted
    cleanlab: np.ndarray  # indices cleanlab flags, sorted
    negative_shapley: np.ndarray  # indices with a KNN-Shapley value < 0 (empty without a validation split)
    lowest_shapley: np.ndarray  # as many as cleanlab flags, lowest value first
    overlap: int  # |cleanlab ∩ lowest_shapley|
    precision: dict[str, float] | None = None  # against the true noisy set, when known
    recall: dict[str, float] | None = None

    def to_dict(self) -> dict:
        return {"method": self.method, "n_suspects": int(len(self.suspects)), "suspects": self.suspects.tolist(),
                "cleanlab": self.cleanlab.tolist(), "negative_shapley": self.negative_shapley.tolist(),
                "lowest_shapley": self.lowest_shapley.tolist(), "overlap": self.overlap,
                "precision": self.precision, "recall": self.recall}


def detector_learner(seed: int = 0):
    """The learner whose cross-validated probabilities confident learning reads: logistic
    regression with C=1 (more regularised than ``default_learner``, so it fits the noise less)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=1000, random_state=seed)


def noise_report(x: np.ndarray, y: np.ndarray, val: tuple[np.ndarray, np.ndarray] | None = None, *,
                 method: str = "auto", k: int = 5, learner=None, seed: int = 0,
                 true_noisy: np.ndarray | None = None, values: np.ndarray | None = None) -> NoiseReport:
    """Find likely mislabelled samples of ``(x, y)``.

    Parameters
    ----------
    val : a small *trusted* labelled split the KNN-Shapley values are computed on; without it
        only cleanlab is used.
    method : ``"shapley"`` (value < 0 on ``val``), ``"cleanlab"``, ``"both"`` (the union), or
        ``"auto"`` (default): ``"shapley"`` with a ``val`` split, else ``"cleanlab"``. On digits with
        10% flipped labels removing the negative-Shapley samples recovered the most accuracy
        (BENCHMARKS.md), so it is what ``--drop-suspects`` removes when it can.
    k : neighbours for KNN-Shapley (default 5).
    learner : gives confident learning its cross-validated probabilities (default ``detector_learner``).
    true_noisy : boolean mask of the truly flipped labels (benchmarks): adds precision and recall.
    values : precomputed KNN-Shapley values (skip computing them again).
    """
    if method not in SUSPECT_METHODS:
        raise PocketMLError(f"unknown suspect method '{method}'", f"use one of {', '.join(SUSPECT_METHODS)}")
    if val is None and method == "shapley":
        raise PocketMLError("method='shapley' needs a trusted validation split to value samples against",
                            "pass val=(x_val, y_val), or method='cleanlab'")
    learner = learner if learner is not None else detector_learner(seed)
    if method == "auto":
        method = "shapley" if val is not None or values is not None else "cleanlab"
    cleanlab = np.flatnonzero(find_label_issues(x, y, learner=learner, seed=seed))
    if values is None and val is not None:
        values = knn_shapley(x, y, val[0], val[1], k)
    negative = np.flatnonzero(values < 0) if values is not None else np.empty(0, np.int64)
    lowest = np.argsort(values, kind="stable")[:len(cleanlab)] if values is not None else np.empty(0, np.int64)
    if method == "cleanlab" or values is None:
        method, suspects = "cleanlab", cleanlab
    elif method == "shapley":
        suspects = negative
    else:
        suspects = np.union1d(cleanlab, negative)
    report = NoiseReport(method, np.sort(suspects), cleanlab, negative, lowest,
                         len(set(cleanlab.tolist()) & set(lowest.tolist())))
    return report if true_noisy is None else scored(report, true_noisy)


def scored(report: NoiseReport, true_noisy: np.ndarray) -> NoiseReport:
    """``report`` with precision and recall of each of its sets against the truly noisy mask."""
    truth = set(np.flatnonzero(np.asarray(true_noisy, dtype=bool)).tolist())
    precision, recall = {}, {}
    for name, found in (("suspects", report.suspects), ("cleanlab", report.cleanlab),
                        ("negative_shapley", report.negative_shapley), ("lowest_shapley", report.lowest_shapley)):
        hits = len(truth & set(found.tolist()))
        precision[name] = hits / len(found) if len(found) else float("nan")
        recall[name] = hits / len(truth) if truth else float("nan")
    return replace(report, precision=precision, recall=recall)
