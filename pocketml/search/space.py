"""The search space: model families and their shape axes, and how each candidate is built.

A candidate is an ``Architecture`` (a frozen record): a family and its axes

    width multiplier · depth · kernel size · input resolution · bits per weight layer

Families (all built from layers pocketml's capture accepts, so every candidate can be deployed):

    cnn    conv(k) ×depth, BN + ReLU each, max pool 2, fully connected   (digits-cnn is width 1,
           depth 2, kernel 3 at resolution 8)
    dscnn  conv(k), then (depth − 1) depthwise-separable blocks: depthwise conv(k) + pointwise 1x1
           (DS-CNN, Zhang et al. 2017 "Hello Edge"), max pool 2, fully connected
    mlp    flatten, ``depth`` hidden fully connected layers (depth 0 is a linear model)

Input resolution is part of the candidate: images are average-pooled from the task's native size
(digits 8x8 → 4x4) before the model sees them, on the host and on the board alike.

Bits per weight layer: each conv / fully connected layer of a ``cnn`` or ``mlp`` candidate draws
its weight width from ``BITS`` (int8 or int4, the widths the compressor packs in the emitted C
and can fine-tune with quantization-aware training). ``dscnn`` candidates stay int8: depthwise
weights are not packed below 8 bits (their op is not ``packable``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pocketml.errors import PocketMLError
from pocketml.graph.layers import FloatGraph

NN_FAMILIES = ("cnn", "dscnn", "mlp")
BASE_CHANNELS = {"cnn": 16, "dscnn": 16, "mlp": 64}
WIDTHS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
DEPTHS = {"cnn": (1, 2, 3), "dscnn": (2, 3, 4), "mlp": (0, 1, 2)}
KERNELS = (3, 5)

BITS = (8, 4)  # weight widths a cnn / mlp layer may draw
MIXED_BITS_FAMILIES = ("cnn", "mlp")  # families whose every weight layer QAT can fine-tune


@dataclass(frozen=True)
class Architecture:
    """One point of the search space. ``bits`` has one entry per weight layer (conv / linear)."""

    family: str
    width: float
    depth: int
    kernel: int | None
    resolution: int
    bits: tuple[int, ...]

    @property
    def label(self) -> str:
        k = f" k{self.kernel}" if self.kernel else ""
        b = "int" + "/".join(str(x) for x in sorted(set(self.bits)))
        return f"{self.family} w{self.width:g} d{self.depth}{k} r{self.resolution} {b}"

    def channels(self) -> list[int]:
        """Output width of each weight layer before the classifier."""
        base = max(2, round(BASE_CHANNELS[self.family] * self.width))
        if self.family in ("cnn", "dscnn"):  # dscnn: the first conv, then each block's pointwise
            return [base] + [2 * base] * (self.depth - 1)
        return [base] * self.depth

    def n_weight_layers(self) -> int:
        return {"cnn": self.depth + 1, "dscnn": 2 * self.depth, "mlp": self.depth + 1}[self.family]

    def to_dict(self) -> dict:
        return {"family": self.family, "width": self.width, "depth": self.depth, "kernel": self.kernel,
                "resolution": self.resolution, "bits": list(self.bits), "label": self.label}

    @property
    def below_8_bits(self) -> bool:
        return min(self.bits, default=8) < 8


def layer_bits(arch: Architecture, graph: FloatGraph) -> dict[str, int]:
    """The captured weight layers of ``arch``'s model → their bit width, in graph order."""
    names = [layer.name for layer in graph.layers if layer.weight is not None]
    if len(names) != len(arch.bits):
        raise PocketMLError(f"{arch.label}: {len(arch.bits)} bit widths for {len(names)} weight layers",
                            "give one width per conv / linear layer")
    return dict(zip(names, arch.bits, strict=True))


def resize(x: np.ndarray, resolution: int) -> np.ndarray:
    """Average-pool NCHW images to ``resolution`` x ``resolution`` (no-op at the native size)."""
    if x.ndim != 4 or x.shape[-1] == resolution:
        return np.asarray(x, np.float32)
    if x.shape[-1] % resolution or x.shape[-2] % resolution:
        raise PocketMLError(f"cannot pool {x.shape[-2]}x{x.shape[-1]} images to {resolution}x{resolution}",
                            "choose a resolution that divides the image size")
    return F.adaptive_avg_pool2d(torch.as_tensor(x, dtype=torch.float32), resolution).numpy()


def build(arch: Architecture, in_channels: int, n_classes: int) -> nn.Module:
    """The PyTorch model for ``arch`` (random weights from torch's current seed)."""
    r, k = arch.resolution, arch.kernel
    layers: list[nn.Module] = []
    if arch.family == "mlp":
        layers.append(nn.Flatten())
        features = in_channels * r * r
        for width in arch.channels():
            layers += [nn.Linear(features, width), nn.ReLU()]
            features = width
        layers.append(nn.Linear(features, n_classes))
        return nn.Sequential(*layers)

    chans = arch.channels()
    pad = k // 2
    layers += [nn.Conv2d(in_channels, chans[0], k, padding=pad, bias=False), nn.BatchNorm2d(chans[0]), nn.ReLU()]
    c = chans[0]
    if arch.family == "cnn":
        for out in chans[1:]:
            layers += [nn.Conv2d(c, out, k, padding=pad, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            c = out
    else:
        for out in chans[1:]:
            layers += [nn.Conv2d(c, c, k, padding=pad, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            c = out
    pooled = r // 2 if r >= 2 else r
    if r >= 2:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(c * pooled * pooled, n_classes)]
    return nn.Sequential(*layers)


def suggest(trial, family: str, resolutions: tuple[int, ...], bits: tuple[int, ...] = BITS) -> Architecture:
    """Draw an ``Architecture`` of ``family`` from an Optuna trial (define-by-run axes per family).

    ``bits``: the widths each weight layer of a ``cnn`` / ``mlp`` may take (``(8,)`` = int8 only).
    """
    width = trial.suggest_categorical(f"{family}_width", list(WIDTHS))
    depth = trial.suggest_categorical(f"{family}_depth", list(DEPTHS[family]))
    kernel = None if family == "mlp" else trial.suggest_categorical(f"{family}_kernel", list(KERNELS))
    if family == "mlp" and depth == 0:
        width = 1.0  # a linear model has no width: one candidate, not six copies
    resolution = trial.suggest_categorical("resolution", list(resolutions))
    arch = Architecture(family, width, depth, kernel, resolution, ())
    choices = sorted(set(bits), reverse=True)
    if family not in MIXED_BITS_FAMILIES:
        drawn = (8,) * arch.n_weight_layers()
    elif len(choices) == 1:
        drawn = (choices[0],) * arch.n_weight_layers()
    else:
        drawn = tuple(trial.suggest_categorical(f"bits_{i}", choices) for i in range(arch.n_weight_layers()))
    return Architecture(family, width, depth, kernel, resolution, drawn)
