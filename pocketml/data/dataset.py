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


def check_inputs(x: np.ndarray, shape: tuple[int, ...] | None, what: str) -> np.ndarray:
    """Refuse empty, non-finite or wrongly shaped inputs with a message that says what to fix."""
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise PocketMLError(f"the {what} set is empty", f"pass at least one sample as the {what} set")
    if not np.issubdtype(x.dtype, np.number):
        raise PocketMLError(f"the {what} set has dtype {x.dtype}, not numbers", "convert it to float32")
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise PocketMLError(
            f"the {what} set has NaN or infinite values in {len(rows)} sample(s), first at index {rows[0]}",
            "drop or impute those samples before calling pocketml",
        )
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise PocketMLError(
            f"the {what} set has samples of shape {tuple(x.shape[1:])}, the model expects {tuple(shape)}",
            "reshape the data to the model's input shape (PyTorch layout, batch first)",
        )
    return x.astype(np.float32)
