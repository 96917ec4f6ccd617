"""The training loop every compression stage shares: seeded Adam + cosine, with stage hooks.

Pruning calls it with a hook that tightens masks as the schedule goes, QAT with one that
recalibrates activation ranges each epoch, distillation with its own loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from pocketml.data.dataset import Split
from pocketml.models.train import fit


def finetune(
    module: nn.Module,
    split: Split,
    *,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    loss: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    before_epoch: Callable[[int], None] | None = None,
    params: list[nn.Parameter] | None = None,
) -> nn.Module:
    """Train ``module`` in place for ``epochs`` on ``split``; returns it in eval mode.

    ``loss(module, x, y)`` defaults to cross-entropy of ``module(x)``; ``before_epoch(e)`` runs
    before each epoch (pruning schedules, range recalibration); ``params`` defaults to all.
    """
    ce = nn.CrossEntropyLoss()
    return fit(module, (torch.as_tensor(split.x), torch.as_tensor(split.y)), loss or (lambda m, xb, yb: ce(m(xb), yb)),
               epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, params=params, before_epoch=before_epoch)


def accuracy(module: nn.Module, split: Split, batch_size: int = 512) -> float:
    """Top-1 accuracy of ``module`` on ``split`` (eval mode, no gradients)."""
    module.eval()
    with torch.no_grad():
        preds = [module(torch.as_tensor(split.x[s:s + batch_size])).argmax(1).numpy()
                 for s in range(0, len(split.x), batch_size)]
    return float(np.mean(np.concatenate(preds) == split.y))
