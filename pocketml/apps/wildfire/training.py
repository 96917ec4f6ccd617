"""How the wildfire networks (cell forecaster and regional model) train: pocketml's one loop (``models.train.fit``).

Runs on one CPU thread: on a shared machine, torch's default thread pool spends more time
waiting for cores than computing (measured here: 14 ms per step with one thread, 390 ms with
two under load), and these networks are small enough that one thread is the fast choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from pocketml.models.train import fit


@contextmanager
def one_thread():
    """Run torch on one thread inside the block; restore the previous setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_network(
    net: nn.Module,
    arrays: Sequence[np.ndarray],
    loss_fn: Callable[..., torch.Tensor],
    *,
    epochs: int,
    batch: int = 1024,
    lr: float = 3e-3,
    seed: int = 0,
    min_steps: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Adam with a cosine schedule over ``epochs``; ``loss_fn(net, *batch_tensors)`` → scalar.

    Small data sets get smaller batches (at least 8 per epoch) and more epochs, up to
    ``min_steps`` optimizer steps in all, so a single station's record trains as well as a region.

    ``arrays`` are sample-first numpy arrays (inputs, targets, weights, ...), shuffled together
    with a generator seeded by ``seed``. Returns ``net`` in eval mode.
    """
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
    n = len(tensors[0])
    batch = min(batch, max(64, n // 8))
    epochs = max(epochs, -(-min_steps // -(-n // batch)))
    with one_thread():
        torch.manual_seed(seed)
        return fit(net, tensors, loss_fn, epochs=epochs, batch_size=batch, lr=lr, seed=seed,
                   after_epoch=None if on_epoch is None else (lambda e, loss: on_epoch(e, loss)))
