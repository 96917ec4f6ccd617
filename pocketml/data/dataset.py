"""Dataset and Split: arrays with a name, and the checks every entry point runs on them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.errors import PocketMLError


@dataclass(frozen=True, eq=False)
class Split:
    """Inputs ``x`` (float32, model layout, e.g. NCHW) and integer labels ``y``."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A named dataset with fixed train / validation / test splits."""

    name: str
    train: Split
    val: Split
    test: Split
    n_classes: int


def check_inputs(x: np.ndarray, shape: tuple[int, ...] | None, what: str, *, varied: bool = False) -> np.ndarray:
    """Refuse empty, non-real, non-finite or wrongly shaped inputs with a message that says what to fix.

    ``what`` names the set: "test" reads "the test set"; a name with an underscore (an ``.npz`` key
    such as ``x_train``) is used as it is. ``varied``: also refuse a set whose values are all equal
    (calibration data: int8 ranges come from it).
    """
    label = what if "_" in what else f"the {what} set"
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise PocketMLError(f"{label} is empty", f"pass at least one sample as {label}")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise PocketMLError(f"{label} has complex values (dtype {x.dtype}); pocketml models take real inputs",
                            "pass real features, e.g. np.abs(x) or np.concatenate([x.real, x.imag], axis=1)")
    if not np.issubdtype(x.dtype, np.number):
        raise PocketMLError(f"{label} has dtype {x.dtype}, not numbers", "convert it to float32")
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise PocketMLError(
            f"{label} has NaN or infinite values in {len(rows)} sample(s), first at index {rows[0]}",
            "drop or impute those samples before calling pocketml",
        )
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise PocketMLError(
            f"{label} has samples of shape {tuple(x.shape[1:])}, the model expects {tuple(shape)}",
            "reshape the data to the model's input shape (PyTorch layout, batch first)",
        )
    if varied and x.min() == x.max():
        raise PocketMLError(f"{label} is constant (every value is {x.flat[0]:g}): int8 ranges are calibrated "
                            "from it", "pass representative inputs that vary (a few hundred real samples)")
    return x.astype(np.float32)


def check_labels(y: np.ndarray, n: int, what: str, *, n_classes: int | None = None) -> np.ndarray:
    """One integer class label per sample, finite, in ``0 .. n_classes - 1``; returned as int64.

    ``what`` names the labels in messages (``y_test``, "the training labels"). Float labels are
    accepted only when every value is a whole number; one-hot rows, a single value, strings,
    booleans, complex, NaN and negative labels are refused, naming the first bad index.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.shape[0] == n:
        raise PocketMLError(f"{what} has shape {y.shape}: one-hot or score rows, not class ids",
                            "pass one integer class id per sample, e.g. y.argmax(axis=1)")
    if y.ndim == 1 and len(y) != n:
        raise PocketMLError(f"{what} has {len(y)} labels for {n} samples", "pass one label per sample")
    if y.ndim != 1:
        raise PocketMLError(f"{what} has shape {y.shape}, not one label per sample ({n} samples)",
                            "pass one integer class label per sample (a 1-D array)")
    if np.issubdtype(y.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise PocketMLError(f"{what} has {len(bad)} NaN or infinite label(s), first at index {bad[0]}",
                                "drop those samples or give them a class")
        bad = np.flatnonzero(y != np.round(y))
        if len(bad):
            raise PocketMLError(f"{what} has fractional labels ({y[bad[0]]:g} at index {bad[0]}); "
                                "class ids are whole numbers", "encode the classes as integers 0..C-1")
    elif not np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        raise PocketMLError(f"{what} has dtype {y.dtype}, not integer class ids",
                            "encode the classes as integers 0..C-1 (e.g. sklearn LabelEncoder)")
    if len(y) and y.min() < 0:
        i = int(np.argmin(y))
        raise PocketMLError(f"{what} has a negative class id ({y[i]:g} at index {i})",
                            "encode the classes as integers 0..C-1")
    if n_classes is not None and len(y) and y.max() >= n_classes:
        i = int(np.argmax(y))
        raise PocketMLError(f"{what} has class id {y[i]:g} at index {i}, but the model has {n_classes} "
                            f"outputs (classes 0..{n_classes - 1})",
                            "check the labels match the model's classes, or pass a model with more outputs")
    return y.astype(np.int64)
