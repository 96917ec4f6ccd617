"""Uncertainty sampling: how unsure a model is about each sample, from its class probabilities.

Three classic scores (Settles, *Active Learning Literature Survey*, 2009, section 3.1), each
"higher = more uncertain" so that every strategy ranks the same way:

    least confidence   1 - p_max
    margin             1 - (p_1st - p_2nd)        (a small gap between the top two = unsure)
    entropy            -sum_c p_c log p_c

Probabilities come from any classifier: a scikit-learn estimator (``predict_proba``) or a PyTorch
module (softmax of its logits).
"""

from __future__ import annotations

import numpy as np

from pocketml.errors import PocketMLError

UNCERTAINTY = ("least-confidence", "margin", "entropy")


def predict_proba(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities ``[N, C]`` from a scikit-learn estimator or a PyTorch module.

    A PyTorch module gets ``x`` in its own layout (e.g. NCHW); a scikit-learn estimator gets
    ``x`` flattened to ``[N, features]``.
    """
    import torch

    if isinstance(model, torch.nn.Module):
        model.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                logits = model(torch.as_tensor(np.asarray(x[start:start + batch_size], dtype=np.float32)))
                outs.append(torch.softmax(logits.double(), dim=1).numpy())
        return np.concatenate(outs)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(np.asarray(x).reshape(len(x), -1)), dtype=np.float64)
    raise PocketMLError(f"cannot get class probabilities from a {type(model).__name__}",
                        "pass a torch.nn.Module (logits out) or a fitted scikit-learn classifier with "
                        "predict_proba")


def uncertainty(proba: np.ndarray, method: str = "margin") -> np.ndarray:
    """Score each row of ``proba`` (``[N, C]``, rows summing to 1); higher means more uncertain."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise PocketMLError(f"class probabilities must be [samples, classes ≥ 2], got shape {proba.shape}",
                            "pass the output of predict_proba (one column per class)")
    if method == "least-confidence":
        return 1.0 - proba.max(axis=1)
    if method == "margin":
        top2 = np.partition(proba, -2, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    if method == "entropy":
        p = np.clip(proba, 1e-300, 1.0)
        return -(proba * np.log(p)).sum(axis=1)
    raise PocketMLError(f"unknown uncertainty measure '{method}'", f"use one of {', '.join(UNCERTAINTY)}")


def most_uncertain(proba: np.ndarray, n: int, method: str = "margin") -> np.ndarray:
    """Positions of the ``n`` most uncertain rows, most uncertain first (ties: lower index first)."""
    scores = uncertainty(proba, method)
    return np.argsort(-scores, kind="stable")[:n]
