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


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, x: np.ndarray, batch_size: int = 128) -> nn.Module:
    """Set every BatchNorm's running statistics to the exact mean/variance over ``x`` (no gradients).

    Used for the MLPerf-shaped families that keep random weights: with statistics measured on
    (synthetic) data, every layer's activations have realistic, well-spread ranges, and folding
    the BatchNorm into the conv before it is exercised with non-trivial values.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    model.train()
    for start in range(0, len(x), batch_size):
        model(torch.as_tensor(x[start:start + batch_size]))
    for m in norms:
        m.momentum = 0.1
    return model.eval()


def fit_head(model: nn.Module, head: nn.Linear, split: Split, *, steps: int = 300, lr: float = 1e-2,
             seed: int = 0) -> nn.Module:
    """Train only the final linear layer ``head`` (cross-entropy) on the frozen features of ``split``.

    Cheap (one forward pass of the body, then a linear model), so a random-weight body still gives
    class scores that mean something on its data.
    """
    features: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, args, _out: features.append(args[0].detach()))
    model.eval()
    with torch.no_grad():
        for start in range(0, len(split.x), 256):
            model(torch.as_tensor(split.x[start:start + 256]))
    hook.remove()
    feats = torch.cat(features).numpy().astype(np.float64)
    labels = np.asarray(split.y)
    # multinomial logistic regression by full-batch gradient descent, in numpy (tiny and fast)
    mu, sd = feats.mean(0), feats.std(0) + 1e-6
    z = (feats - mu) / sd
    n_classes = head.out_features
    onehot = np.eye(n_classes)[labels]
    w = np.zeros((z.shape[1], n_classes))
    b = np.zeros(n_classes)
    for _ in range(steps):
        logits = z @ w + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = (p - onehot) / len(z)
        w -= lr * 50 * (z.T @ grad + 1e-3 * w)
        b -= lr * 50 * grad.sum(0)
    with torch.no_grad():  # fold the standardisation into the layer: y = ((x - mu) / sd) w + b
        head.weight.copy_(torch.as_tensor((w / sd[:, None]).T, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(b - (mu / sd) @ w, dtype=torch.float32))
    del seed  # deterministic: full-batch descent from zeros
    return model.eval()


def train_reconstruction(model: nn.Module, x: np.ndarray, *, epochs: int = 10, batch_size: int = 64,
                         lr: float = 1e-3, seed: int = 0) -> nn.Module:
    """Train an autoencoder in place to reconstruct ``x`` (mean squared error); returns it in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    data = torch.as_tensor(x)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(data), generator=generator)
        for start in range(0, len(data), batch_size):
            batch = data[order[start:start + batch_size]]
            if len(batch) < 2:
                continue  # BatchNorm needs two samples
            opt.zero_grad()
            nn.functional.mse_loss(model(batch), batch).backward()
            opt.step()
    return model.eval()
