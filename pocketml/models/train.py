"""The one training loop (:func:`fit`: seeded, deterministic, with hooks and a progress bar) and the
trainers built on it: classifiers (:func:`train`), autoencoders (:func:`train_reconstruction`); the
compressor's fine-tuning, the selection learners and the wildfire models call :func:`fit` too."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from rich.progress import Progress
from torch import nn

from pocketml.data.dataset import Split


def fit(
    module: nn.Module,
    tensors: Sequence[torch.Tensor],
    batch_loss: Callable[..., torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    lr: float = 1e-3,
    params: Iterable[nn.Parameter] | None = None,
    schedule: str | None = "cosine",
    before_epoch: Callable[[int], None] | None = None,
    after_epoch: Callable[[int, float], str | None] | None = None,
    min_batch: int = 1,
    optimizer: str = "adam",
    train_mode: bool = True,
    running_stats_below: int = 0,
    progress: bool = False,
) -> nn.Module:
    """The one training loop (every trainer in pocketml runs it); trains ``module`` in place, returns it in eval mode.

    Each epoch: ``before_epoch(epoch)``; train mode; a permutation of the samples drawn from a
    generator seeded once with ``seed`` (same seed, same batches); for each batch of indices,
    ``batch_loss(module, *(t[idx] for t in tensors))`` → zero_grad, backward, optimizer step (``lr``,
    over ``params``, default all); then the schedule's step (``"cosine"`` over ``epochs``, or None)
    and ``after_epoch(epoch, mean loss)``, whose returned text, if any, is shown on the progress bar.

    ``optimizer``: ``"adam"`` (default) or ``"sgd"`` (momentum 0.9, what federated clients run).
    ``train_mode=False`` keeps the module in eval mode (fine-tuning a head over a body whose
    BatchNorm statistics must not move). Batches smaller than ``min_batch`` are skipped (BatchNorm
    needs two samples); or, keeping every sample, BatchNorm layers use their running statistics on
    batches smaller than ``running_stats_below``. Model initialisation and global seeding are the
    caller's: the loop draws only from its own generator.
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', not {optimizer!r}")
    generator = torch.Generator().manual_seed(seed)
    n = len(tensors[0])
    chosen = list(params) if params is not None else list(module.parameters())
    opt = (torch.optim.Adam(chosen, lr=lr) if optimizer == "adam"
           else torch.optim.SGD(chosen, lr=lr, momentum=0.9))
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1)) if schedule == "cosine" else None
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("training", total=epochs)
        for epoch in range(epochs):
            if before_epoch is not None:
                before_epoch(epoch)
            module.train(train_mode)
            order = torch.randperm(n, generator=generator)
            total, count = 0.0, 0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                if len(idx) < min_batch:
                    continue
                if train_mode and running_stats_below:
                    for bn in norms:
                        bn.train(len(idx) >= running_stats_below)
                opt.zero_grad()
                loss = batch_loss(module, *(t[idx] for t in tensors))
                loss.backward()
                opt.step()
                total, count = total + float(loss.detach()) * len(idx), count + len(idx)
            if sched is not None:
                sched.step()
            note = after_epoch(epoch, total / max(count, 1)) if after_epoch is not None else None
            bar.update(task, advance=1, description=f"training {note or ''}")
    return module.eval()


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
    """Train a classifier in place with Adam, a cosine schedule and cross-entropy (:func:`fit`); returns it
    in eval mode, showing the validation accuracy per epoch when ``val_split`` is given.

    Deterministic given ``seed``: weights are initialised by the caller under the same seed and
    the batch order comes from a seeded generator.
    """
    ce = nn.CrossEntropyLoss()

    def val_note(epoch: int, loss: float) -> str | None:
        return f"val acc {evaluate_accuracy(model, val_split):.3f}" if val_split is not None else None

    return fit(model, (torch.as_tensor(train_split.x), torch.as_tensor(train_split.y)),
               lambda m, xb, yb: ce(m(xb), yb), epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
               after_epoch=val_note if val_split is not None else None, progress=progress)


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
    """Train an autoencoder in place to reconstruct ``x`` (mean squared error, :func:`fit` with no
    schedule); returns it in eval mode."""
    return fit(model, (torch.as_tensor(x),), lambda m, b: nn.functional.mse_loss(m(b), b), epochs=epochs,
               batch_size=batch_size, lr=lr, seed=seed, schedule=None, min_batch=2)
