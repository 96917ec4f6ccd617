"""Load a user's data from a file: numpy ``.npz`` with named arrays.

Keys: ``x_train`` (inputs for calibration, model layout, float), ``x_test`` and ``y_test``
(labelled test split). Optional ``y_train``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from pocketml.data.dataset import Split
from pocketml.errors import PocketMLError

REQUIRED = ("x_train", "x_test", "y_test")


def load_npz(path: str | Path) -> tuple[np.ndarray, Split]:
    """Return (calibration inputs, test split) from an ``.npz`` file."""
    path = Path(path)
    if not path.is_file():
        raise PocketMLError(f"data file {path} does not exist", f"pass an .npz file with arrays {', '.join(REQUIRED)}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise PocketMLError(f"data file {path} could not be read: {exc}",
                            "write it with numpy.savez(path, x_train=..., x_test=..., y_test=...)") from exc
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise PocketMLError(f"data file {path} lacks {', '.join(missing)} (has {', '.join(arrays) or 'nothing'})",
                            f"save the arrays under the names {', '.join(REQUIRED)}")
    return arrays["x_train"], Split(arrays["x_test"], arrays["y_test"].astype(np.int64))
