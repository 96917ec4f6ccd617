"""A whole selection run, as ``pocketml select`` does it: select, measure, and write a folder.

``run_selection`` computes (the selection, what the learner reaches on it, and optionally the
learning curves, removal curve and label-noise report); ``write_selection`` writes
``selection.json``, ``selected.npz`` and (given the rendered page) ``report.html`` into a
temporary folder beside ``out`` and renames it into place only when everything was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pocketml.data.dataset import Split
from pocketml.data.selection.active import CurveComparison, compare_strategies
from pocketml.data.selection.checks import check_labels
from pocketml.data.selection.learners import accuracy, default_learner, fit_clone
from pocketml.data.selection.noise import NoiseReport, scored
from pocketml.data.selection.plan import Selection, select
from pocketml.data.selection.valuation import RemovalCurve, removal_curve
from pocketml.errors import PocketMLError
from pocketml.outputs import OutputFolder, write_atomic


@dataclass(frozen=True, eq=False)
class SelectionRun:
    """Everything one ``pocketml select`` measured."""

    selection: Selection
    labels: np.ndarray  # the training labels selection saw (flipped ones included, with --flip)
    accuracy: dict[str, float]  # default learner on: the selection, the whole pool, as many random
    #                             samples of the pool left after dropping suspects
    learner: str
    comparison: CurveComparison | None = None
    removal: RemovalCurve | None = None
    flipped: np.ndarray | None = None  # indices whose labels were flipped on purpose (--flip)

    @property
    def noise(self) -> NoiseReport | None:
        return self.selection.noise

    def to_json(self) -> dict:
        return {"selection": self.selection.to_dict(), "accuracy": self.accuracy, "learner": self.learner,
                "curves": None if self.comparison is None else self.comparison.to_dict(),
                "removal": None if self.removal is None else self.removal.to_dict(),
                "flipped": None if self.flipped is None else self.flipped.tolist()}


def flip_labels(y: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flip ``fraction`` of the labels, each to a different class drawn uniformly; returns
    (noisy labels, flipped indices). For measuring noise detection, never for real data."""
    if not 0 <= fraction < 1:
        raise PocketMLError(f"flip fraction {fraction} is not in [0, 1)", "pass e.g. 0.1 to flip 10% of the labels")
    n_classes = int(y.max()) + 1
    rng = np.random.default_rng([seed, 7])
    idx = np.sort(rng.choice(len(y), int(round(fraction * len(y))), replace=False))
    noisy = y.copy()
    noisy[idx] = (noisy[idx] + rng.integers(1, n_classes, len(idx))) % n_classes
    return noisy, idx


def run_selection(train: Split, test: Split, val: Split | None = None, *, strategy: str = "hybrid",
                  budget: int | float | None = None, budget_bytes: int | None = None,
                  drop_suspects: bool = False, suspect_method: str = "auto", curves: bool = False,
                  seeds: int = 1, flip: float = 0.0, k: int = 5, seed: int = 0, progress=None) -> SelectionRun:
    """Select from ``train`` (see ``select``), then measure the default learner on ``test``.

    ``curves`` adds learning curves of every strategy vs random (budgets 10–50% of the pool,
    ``seeds`` seeds) and, with ``val``, the KNN-Shapley removal curve. ``flip`` flips that
    fraction of the training labels first (to see the noise detection work).
    """
    y = check_labels(train.y, len(train.x), "training")
    test_y = check_labels(test.y, len(test.x), "test", min_classes=1)
    flipped = None
    if flip:
        y, flipped = flip_labels(y, flip, seed)
    val_xy = None if val is None else (val.x, val.y)
    chosen = select(train.x, y, strategy=strategy, budget=budget, budget_bytes=budget_bytes, val=val_xy,
                    drop_suspects=drop_suspects, suspect_method=suspect_method, k=k, seed=seed)
    if chosen.noise is not None and flipped is not None:
        truth = np.zeros(len(y), bool)
        truth[flipped] = True
        chosen = replace(chosen, noise=scored(chosen.noise, truth))
    n_classes = int(max(y.max(), test_y.max()) + 1)
    learner = default_learner(seed)
    pool = np.setdiff1d(np.arange(len(y)), chosen.dropped)  # random from what the strategy chose from
    rand = np.random.default_rng(seed).permutation(pool)[:len(chosen.indices)]
    acc = {"selected": accuracy(fit_clone(learner, train.x[chosen.indices], y[chosen.indices]),
                                test.x, test_y, n_classes),
           "all": accuracy(fit_clone(learner, train.x, y), test.x, test_y, n_classes),
           "random_same_size": accuracy(fit_clone(learner, train.x[rand], y[rand]), test.x, test_y, n_classes)
           if len(np.unique(y[rand])) > 1 else float("nan")}
    comparison = removal = None
    if curves:
        comparison = compare_strategies(train.x, y, (test.x, test_y), seeds=tuple(range(seed, seed + seeds)),
                                        progress=progress)
        if chosen.values is not None:
            removal = removal_curve(chosen.values, train.x, y, (test.x, test_y), seed=seed)
        elif val is not None:
            from pocketml.data.selection.valuation import knn_shapley

            removal = removal_curve(knn_shapley(train.x, y, val.x, val.y, k), train.x, y, (test.x, test_y),
                                    seed=seed)
    return SelectionRun(chosen, y, acc, type(learner).__name__, comparison, removal, flipped)


def write_selection(out: str | Path, run: SelectionRun, train: Split, test: Split, *,
                    html: str | None = None, force: bool = False) -> Path:
    """Write ``out/selection.json``, ``out/selected.npz`` (the kept training samples, in pool order,
    and the test split: usable as ``pocketml shrink --data``) and ``out/report.html``, all or nothing;
    ``force`` as for :class:`pocketml.outputs.OutputFolder`."""
    out = Path(out)
    with OutputFolder(out, force=force, command="select").stage() as work:
        keep = np.sort(run.selection.indices)
        write_atomic(work / "selection.json", json.dumps(run.to_json(), indent=2))
        np.savez(work / "selected.npz", x_train=train.x[keep], y_train=run.labels[keep], indices=keep,
                 x_test=test.x, y_test=test.y)
        if html is not None:
            write_atomic(work / "report.html", html)
    return out


def load_selection_data(path: str | Path | None) -> tuple[Split, Split | None, Split]:
    """(train, val or None, test) from an ``.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``,
    optional ``x_val``, ``y_val``), or the built-in digits splits when ``path`` is None."""
    if path is None:
        from pocketml.data.digits import load_digits

        data = load_digits()
        return data.train, data.val, data.test
    from pocketml.data.files import read_npz

    need = ("x_train", "y_train", "x_test", "y_test")
    arrays = read_npz(path)  # the untrusted-file reader `shrink --data` uses (docs/security.md)
    missing = [key for key in need if key not in arrays]
    if missing:
        raise PocketMLError(f"data file {path} lacks {', '.join(missing)} (has {', '.join(arrays) or 'nothing'})",
                            f"save the arrays under the names {', '.join(need)} (x_val, y_val optional)")

    def split(part: str) -> Split:  # values and labels are checked by run_selection
        return Split(arrays[f"x_{part}"], arrays[f"y_{part}"])

    train, test = split("train"), split("test")
    val = split("val") if "x_val" in arrays and "y_val" in arrays else None
    for part, other in (("test", test), ("val", val)):
        if other is not None and np.shape(other.x)[1:] != np.shape(train.x)[1:]:
            raise PocketMLError(f"x_train has samples of shape {np.shape(train.x)[1:]}, x_{part} "
                                f"{np.shape(other.x)[1:]}", "give every split the same sample shape")
    return train, val, test
