"""Embeddings for diversity sampling: a model's penultimate layer, or the raw features.

For a PyTorch module the embedding is the input of its last ``nn.Linear`` (the classifier head):
whatever the network computes just before the class scores. For anything else (a scikit-learn
estimator, or no model) it is the raw features, flattened.
"""

from __future__ import annotations

import numpy as np

from pocketml.errors import PocketMLError


def embed(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``[N, D]`` float64 embeddings of ``x``: penultimate layer of a torch module, else raw features."""
    import torch

    if isinstance(model, torch.nn.Module):
        return _penultimate(model, x, batch_size)
    inner = getattr(model, "module_", None)  # a fitted TorchClassifier: use its network
    if isinstance(inner, torch.nn.Module):
        return _penultimate(inner, np.asarray(x).reshape((len(x), *model.input_shape_)), batch_size)
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def _penultimate(module, x: np.ndarray, batch_size: int) -> np.ndarray:
    import torch

    heads = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    if not heads:
        raise PocketMLError(f"{type(module).__name__} has no nn.Linear layer to take the penultimate "
                            "features from", "pass embedding='raw' to use the raw features instead")
    captured: list[np.ndarray] = []
    hook = heads[-1].register_forward_hook(lambda _m, inputs, _out: captured.append(
        inputs[0].detach().reshape(len(inputs[0]), -1).double().numpy()))
    module.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                module(torch.as_tensor(np.asarray(x[start:start + batch_size], dtype=np.float32)))
    finally:
        hook.remove()
    return np.concatenate(captured)
