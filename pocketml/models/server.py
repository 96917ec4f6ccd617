"""The offload target of the energy cascade: a bigger model that runs on a server, not the board.

When the device model is unsure it can send its raw input over the radio to a server instead of
answering (``pocketml.energy`` prices both). For the built-in tasks that server model is an RBF
support-vector machine trained on the same training split: more accurate than a tiny CNN on
small inputs such as digits, and far too large for a microcontroller (it keeps its support
vectors). Users pass their own with ``shrink(..., server_model=...)``.
"""

from __future__ import annotations

from sklearn.svm import SVC

from pocketml.data.dataset import Split
from pocketml.errors import PocketMLError

MAX_SERVER_SAMPLES = 10_000  # an RBF SVM's training time grows with the square of the samples


def fit_server_model(train: Split, *, c: float = 10.0) -> SVC:
    """An RBF SVM (gamma="scale") fitted on the flattened training inputs."""
    if train.y is None:
        raise PocketMLError("a server model needs labelled training data", "pass a split with labels")
    if len(train.x) > MAX_SERVER_SAMPLES:
        raise PocketMLError(f"{len(train.x):,} training samples are too many for the built-in RBF SVM server model",
                            f"pass your own server_model, or subsample to {MAX_SERVER_SAMPLES:,}")
    return SVC(gamma="scale", C=c).fit(train.x.reshape(len(train.x), -1), train.y)
