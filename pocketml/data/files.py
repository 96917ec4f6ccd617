"""Load a user's data from a file: numpy ``.npz`` with named arrays.

Keys: ``x_train`` (inputs for calibration, model layout, float), ``x_test`` and ``y_test``
(labelled test split). Optional ``y_train``.

The file is untrusted: :func:`read_npz` checks that it is a zip of ``.npy`` members (not a renamed
``.npy``), that no member holds pickled objects, and that every member's header (shape × dtype)
matches the bytes the member holds *before* numpy allocates anything, so a header claiming
6.4e9 floats is refused instead of allocating 24 GiB. :func:`load_npz` then checks every array
by its key: real numbers, finite, one integer label per test sample.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from pocketml.data.dataset import Split, check_inputs, check_labels
from pocketml.errors import PocketMLError

REQUIRED = ("x_train", "x_test", "y_test")
MAX_DEFLATE_RATIO = 1100  # deflate cannot expand more than ~1032:1; a larger claim is a lie
WRITE_IT = "write it with numpy.savez(path, x_train=..., x_test=..., y_test=...)"


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, each member's size checked against the file before reading."""
    path = Path(path)
    if not path.is_file():
        raise PocketMLError(f"data file {path} does not exist", f"pass an .npz file with arrays {', '.join(REQUIRED)}")
    with open(path, "rb") as f:
        magic = f.read(6)
    if not zipfile.is_zipfile(path):
        what = "a single .npy array" if magic == b"\x93NUMPY" else "not an .npz archive (a zip of .npy arrays)"
        raise PocketMLError(f"data file {path} is {what}", WRITE_IT)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                _check_member(archive, info, path.stat().st_size)
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except PocketMLError:
        raise
    except Exception as exc:  # a damaged archive or member: zipfile's, zlib's and numpy's header parser's
        # reasons vary (BadZipFile, zlib.error, ValueError, EOFError, tokenize.TokenError, SyntaxError, ...)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise PocketMLError(f"data file {path} could not be read: {reason}", WRITE_IT) from exc


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_size: int) -> None:
    """Refuse a member whose ``.npy`` header does not match the bytes it holds (nothing allocated)."""
    key = info.filename.removesuffix(".npy")
    if info.compress_size > file_size or (info.compress_type == zipfile.ZIP_STORED and
                                          info.file_size != info.compress_size) or \
            info.file_size > max(info.compress_size, 1) * MAX_DEFLATE_RATIO:
        raise PocketMLError(f"data file {archive.filename}: member '{key}' claims {info.file_size:,} bytes, "
                            f"more than the file can hold", WRITE_IT)
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unknown .npy version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
        header = member.tell()
    if dtype.hasobject:
        raise PocketMLError(f"data file {archive.filename}: '{key}' holds Python objects (dtype {dtype})",
                            "save numeric arrays only (pocketml never unpickles data)")
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != info.file_size - header:
        raise PocketMLError(f"data file {archive.filename}: '{key}' claims shape {shape} of {dtype} "
                            f"({claimed:,} bytes) but holds {info.file_size - header:,}", WRITE_IT)


def load_npz(path: str | Path) -> tuple[np.ndarray, Split]:
    """Return (calibration inputs, test split) from an ``.npz`` file; every array checked by its key."""
    arrays = read_npz(path)
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise PocketMLError(f"data file {path} lacks {', '.join(missing)} (has {', '.join(arrays) or 'nothing'})",
                            f"save the arrays under the names {', '.join(REQUIRED)}")
    x_train = check_inputs(arrays["x_train"], None, "x_train", varied=True)
    x_test = check_inputs(arrays["x_test"], None, "x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise PocketMLError(f"x_train has samples of shape {x_train.shape[1:]}, x_test {x_test.shape[1:]}",
                            "give both the model's input shape (PyTorch layout, batch first)")
    return x_train, Split(x_test, check_labels(arrays["y_test"], len(x_test), "y_test"))


def load_train_split(path: str | Path) -> Split | None:
    """``(x_train, y_train)`` for recipes that train, or None when the file has no ``y_train``."""
    arrays = read_npz(path)
    if "y_train" not in arrays:
        return None
    x_train = check_inputs(arrays["x_train"], None, "x_train")
    return Split(x_train, check_labels(arrays["y_train"], len(x_train), "y_train"))
