"""The training loop every built-in model uses: seeded, deterministic, with a progress bar."""

from __future__ import annotations

import numpy as np
import torch
from rich.progress import Progress
from torch import nn

from pocketml.data.dataset import Split


def train(
    model: nn.Module,
    train_split: Split,
    val_split: Split | None = None,
    *,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
) -> nn.Module:
    """Train ``model`` in place with Adam and cross-entropy; returns the model (in eval mode).

    Deterministic given ``seed``: weights are initialised by the caller under the same seed and
    the batch order comes from a seeded generator.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(train_split.x)
    y = torch.as_tensor(train_split.y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("training", total=epochs)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                opt.zero_grad()
                loss_fn(model(x[idx]), y[idx]).backward()
                opt.step()
            sched.step()
            note = ""
            if val_split is not None:
                note = f"val acc {evaluate_accuracy(model, val_split):.3f}"
            bar.update(task, advance=1, description=f"training {note}")
    return model.eval()


def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    model.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            outs.append(model(torch.as_tensor(x[start:start + batch_size])).numpy())
    return np.concatenate(outs)


def evaluate_accuracy(model: nn.Module, split: Split) -> float:
    return float(np.mean(predict_logits(model, split.x).argmax(1) == split.y))
