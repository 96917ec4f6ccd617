"""Training the keyword model: pocketml's DS-CNN on the front end's (standardised) MFCCs.

The float model trains on the features the fixed-point front end computes (so there is no
train/device front-end mismatch), standardised per coefficient; int8 comes afterwards, from
``pocketml.shrink`` with a ``qat`` recipe stage (:func:`qat_recipe`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pocketml.compress.recipe import Recipe, StageSpec
from pocketml.errors import PocketMLError
from pocketml.models.ds_cnn import DSCNN


@dataclass(frozen=True)
class TrainSpec:
    """The model and how it learns.

    Parameters
    ----------
    width : DS-CNN channels (default 64, MLPerf Tiny's; 32 needs about 0.4x the instructions per
        inference, so a coin cell lasts about twice as long, for about 5 points less accuracy:
        BENCHMARKS.md "Keyword spotting").
    blocks : depthwise-separable blocks (default 4).
    epochs, batch_size, lr : float training (default 40 epochs; ``models.train.fit``: Adam, cosine schedule).
    qat_epochs, qat_lr : quantization-aware training inside ``shrink`` (recipe stage ``qat``).
    time_mask : SpecAugment-style masking of up to this many frames per training clip (0: off).
    freq_mask : SpecAugment-style masking of up to this many adjacent MFCC coefficients per training
        clip (default 2; 0: off).
    """

    width: int = 64
    blocks: int = 4
    epochs: int = 40
    batch_size: int = 128
    lr: float = 3e-3
    qat_epochs: int = 3
    qat_lr: float = 2e-4
    time_mask: int = 6
    freq_mask: int = 2

    def check(self) -> TrainSpec:
        if not 4 <= self.width <= 256 or not 1 <= self.blocks <= 8:
            raise PocketMLError(f"width {self.width} / blocks {self.blocks} are out of range",
                                "use a width in [4, 256] and 1-8 blocks")
        if self.time_mask < 0 or self.freq_mask < 0:
            raise PocketMLError(f"time_mask {self.time_mask} / freq_mask {self.freq_mask} are negative",
                                "use 0 (off) or a positive number of frames / coefficients")
        if self.epochs < 1 or self.qat_epochs < 0 or self.batch_size < 2:
            raise PocketMLError("epochs must be >= 1, qat_epochs >= 0 and batch_size >= 2", "e.g. epochs=24")
        return self


@contextmanager
def one_thread() -> Iterator[None]:
    """Train with one intra-op thread: on a shared machine, torch's worker threads spin against each
    other (measured here: 1 thread is 3-4x faster than 2 for this model on 2 busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def build_model(n_classes: int, spec: TrainSpec, seed: int) -> DSCNN:
    torch.manual_seed(seed)
    return DSCNN(width=spec.width, n_classes=n_classes, blocks=spec.blocks)


def logits(model: DSCNN, x: torch.Tensor) -> torch.Tensor:
    """The DS-CNN's class scores before its softmax (what the loss sees)."""
    return model.classifier(model.pool(model.features(x)).flatten(1))


def predict(model: nn.Module, x: np.ndarray, batch: int = 512) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(torch.as_tensor(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


def train_float(model: DSCNN, x: np.ndarray, y: np.ndarray, spec: TrainSpec, seed: int,
                val: tuple[np.ndarray, np.ndarray] | None = None,
                progress: Callable[[str, int, int], None] | None = None) -> tuple[DSCNN, list[dict]]:
    """Cross-entropy of the logits with pocketml's one training loop (``models.train.fit``: Adam,
    cosine schedule, seeded batches) and time and frequency masks; returns (model in eval mode, per-epoch history)."""
    from pocketml.models.train import fit

    masks = torch.Generator().manual_seed(seed + 1)
    loss_fn = nn.CrossEntropyLoss()
    history: list[dict] = []

    def batch_loss(m: DSCNN, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        xb = _band_mask(xb, spec.time_mask, masks, dim=2)
        return loss_fn(logits(m, _band_mask(xb, spec.freq_mask, masks, dim=3)), yb)

    def after_epoch(epoch: int, loss: float) -> str:
        row = {"epoch": epoch + 1, "loss": loss}
        if val is not None:
            row["val_accuracy"] = float(np.mean(predict(model, val[0]).argmax(1) == val[1]))
        history.append(row)
        if progress is not None:
            progress("training", epoch + 1, spec.epochs)
        return f"val {row.get('val_accuracy', float('nan')):.3f}"

    fit(model, (torch.as_tensor(x), torch.as_tensor(y)), batch_loss, epochs=spec.epochs, batch_size=spec.batch_size,
        seed=seed, lr=spec.lr, after_epoch=after_epoch, min_batch=2)
    return model.eval(), history


def _band_mask(x: torch.Tensor, width: int, gen: torch.Generator, dim: int) -> torch.Tensor:
    """Zero (the standardised mean) a random run of up to ``width`` rows along ``dim`` in each clip:
    frames (``dim=2``, a time mask) or MFCC coefficients (``dim=3``, a frequency mask)."""
    if width <= 0:
        return x
    n, size = x.shape[0], x.shape[dim]
    w = torch.randint(0, min(width, size) + 1, (n,), generator=gen)
    start = (torch.rand(n, generator=gen) * (size - w + 1).float()).long()
    t = torch.arange(size)
    mask = (t[None, :] >= start[:, None]) & (t[None, :] < (start + w)[:, None])
    shape = [n, 1, 1, 1]
    shape[dim] = size
    return x.masked_fill(mask.view(shape), 0.0)


def qat_recipe(spec: TrainSpec) -> Recipe:
    """int8 quantization-aware training (pocketml.compress, stage ``qat``)."""
    return Recipe("kws-qat", (StageSpec("qat", {"bits": 8, "epochs": spec.qat_epochs, "lr": spec.qat_lr}),))
