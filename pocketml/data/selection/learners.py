"""Learners the selection loop retrains: any scikit-learn classifier, or a PyTorch module wrapped
as one (``TorchClassifier``), plus the default fast learner used by ``select`` and the benchmark.

The loop only needs ``fit(x, y)`` and ``predict_proba(x)``; ``fit_clone`` clones the learner first
(``sklearn.base.clone``) so a round never starts from the previous round's weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from pocketml.data.selection.uncertainty import predict_proba
from pocketml.errors import PocketMLError


def default_learner(seed: int = 0):
    """Multinomial logistic regression on the flattened inputs (C=10, lbfgs): a fraction of a
    second per fit on 8x8 digits, and sensitive enough to label noise to show what cleaning buys."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=10.0, max_iter=1000, random_state=seed)


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """A PyTorch network as a scikit-learn classifier: ``build()`` makes a fresh module whose
    output is one logit per class; ``fit`` trains it briefly with Adam and cross-entropy.

    Parameters
    ----------
    build : zero-argument callable returning an ``nn.Module`` (logits ``[N, n_classes]``).
    input_shape : the shape of one sample as the module expects it (e.g. ``(1, 8, 8)``); default:
        the shape of the samples passed to ``fit``.
    epochs : passes over the labelled data (default 30).
    lr : Adam learning rate (default 3e-3).
    batch_size : default 64.
    seed : seeds the weights and the batch order (default 0).
    """

    def __init__(self, build: Callable | None = None, input_shape: tuple[int, ...] | None = None,
                 epochs: int = 30, lr: float = 3e-3, batch_size: int = 64, seed: int = 0) -> None:
        self.build = build
        self.input_shape = input_shape
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.seed = seed

    def _shaped(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float32).reshape((len(x), *self.input_shape_))

    def fit(self, x: np.ndarray, y: np.ndarray) -> TorchClassifier:
        import torch

        if self.build is None:
            raise PocketMLError("TorchClassifier has no build function",
                                "pass build=lambda: MyNet() returning a fresh nn.Module")
        self.input_shape_ = tuple(self.input_shape or np.asarray(x).shape[1:])
        torch.manual_seed(self.seed)
        module = self.build()
        from pocketml.models.train import fit

        xt = torch.as_tensor(self._shaped(x))
        yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
        ce = torch.nn.CrossEntropyLoss()
        fit(module, (xt, yt), lambda m, xb, yb: ce(m(xb), yb), epochs=self.epochs, batch_size=self.batch_size,
            lr=self.lr, seed=self.seed, schedule=None)
        self.module_ = module
        with torch.no_grad():
            n_out = module(xt[:1]).shape[1]
        self.classes_ = np.arange(n_out)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return predict_proba(self.module_, self._shaped(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)


def _flat(learner, x: np.ndarray) -> np.ndarray:
    return x if isinstance(learner, TorchClassifier) else np.asarray(x).reshape(len(x), -1)


def fit_clone(learner, x: np.ndarray, y: np.ndarray):
    """A fresh clone of ``learner`` fitted on ``(x, y)`` (x flattened unless it is a TorchClassifier)."""
    model = clone(learner)
    return model.fit(_flat(learner, x), y)


def proba_all_classes(model, x: np.ndarray, n_classes: int) -> np.ndarray:
    """``[N, n_classes]`` probabilities even when the model saw only some classes (zeros elsewhere)."""
    proba = predict_proba(model, _flat(model, x)) if not isinstance(model, TorchClassifier) \
        else model.predict_proba(x)
    classes = np.asarray(getattr(model, "classes_", np.arange(proba.shape[1])), dtype=np.int64)
    if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((len(proba), n_classes))
    full[:, classes] = proba
    return full


def accuracy(model, x: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    return float(np.mean(proba_all_classes(model, x, n_classes).argmax(axis=1) == y))
