"""Input checks every selection entry point runs: finite rows, labels that fit, budgets that make sense.

Each failure is a ``PocketMLError`` that names the problem and says what to do about it.
"""

from __future__ import annotations

import numpy as np

from pocketml.data.dataset import check_inputs
from pocketml.errors import PocketMLError


def as_features(x: np.ndarray, what: str) -> np.ndarray:
    """Refuse empty or non-finite samples, return them flattened to ``[N, features]`` float64."""
    x = check_inputs(x, None, what)
    return x.reshape(len(x), -1).astype(np.float64)


def check_labels(y: np.ndarray, n: int, what: str, *, min_classes: int = 2) -> np.ndarray:
    """Refuse labels that are not one integer per sample, or that name fewer than ``min_classes`` classes."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise PocketMLError(f"the {what} set has {n} samples but labels of shape {y.shape}",
                            "pass one integer class label per sample (a 1-D array)")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise PocketMLError(f"the {what} labels have dtype {y.dtype}, not integer class ids",
                                "encode the classes as integers 0..C-1 (e.g. sklearn LabelEncoder)")
    if y.min() < 0:
        raise PocketMLError(f"the {what} labels include negative class ids (min {y.min()})",
                            "encode the classes as integers 0..C-1")
    classes = np.unique(y)
    if len(classes) < min_classes:
        raise PocketMLError(
            f"the {what} labels name only {len(classes)} class ({classes.tolist()}); selection needs "
            f"at least {min_classes}",
            "include samples of every class (a classifier needs two or more), or check the label column",
        )
    return y.astype(np.int64)


def bytes_per_sample(x: np.ndarray, n_classes: int) -> int:
    """Bytes one stored training sample takes: its inputs as stored plus the smallest label type."""
    label = 1 if n_classes <= 256 else 2 if n_classes <= 65536 else 4
    return int(np.asarray(x)[0].nbytes) + label


def n_from_budget(budget: float | int | None, n_pool: int, *, what: str = "budget") -> int:
    """A budget as a count (an int ≥ 1) or a fraction of the pool (a float in (0, 1]) → a sample count."""
    if budget is None:
        return n_pool
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)):
        raise PocketMLError(f"the {what} {budget!r} is not a number",
                            "pass a count of samples (e.g. 200) or a fraction of the pool (e.g. 0.4)")
    if isinstance(budget, (float, np.floating)):
        if not 0 < budget <= 1:
            raise PocketMLError(f"the {what} {budget} is not a fraction in (0, 1]",
                                "pass a fraction such as 0.4, or a whole number of samples (an int)")
        n = int(round(float(budget) * n_pool))
    else:
        n = int(budget)
    if n < 1:
        raise PocketMLError(f"the {what} {budget!r} selects no sample out of {n_pool}",
                            "pass a budget of at least one sample")
    return min(n, n_pool)
