"""Input checks every selection entry point runs: finite rows, labels that fit, budgets that make sense.

Each failure is a ``PocketMLError`` that names the problem and says what to do about it.
"""

from __future__ import annotations

import numpy as np

from pocketml.data.dataset import check_inputs
from pocketml.data.dataset import check_labels as check_dataset_labels
from pocketml.errors import PocketMLError


def as_features(x: np.ndarray, what: str) -> np.ndarray:
    """Refuse empty or non-finite samples, return them flattened to ``[N, features]`` float64."""
    x = check_inputs(x, None, what)
    return x.reshape(len(x), -1).astype(np.float64)


def check_labels(y: np.ndarray, n: int, what: str, *, min_classes: int = 2) -> np.ndarray:
    """Refuse labels that are not one integer per sample (``pocketml.data.dataset.check_labels``), or
    that name fewer than ``min_classes`` classes."""
    y = check_dataset_labels(y, n, f"the {what} label array")
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
