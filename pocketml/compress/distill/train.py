"""Two-stage distillation as TinyBERT: general (unlabelled, mimic the teacher), then task-specific.

    general:  L = hidden_weight · Σ MSE(W_h · h_s, h_t) + T² · KL(p_t^T ‖ p_s^T)          (no labels)
    task:     L = alpha · T² · KL(p_t^T ‖ p_s^T) + (1 - alpha) · CE(s, y) + hidden_weight · Σ MSE(...)

Inputs of the task stage can be augmented with Gaussian noise (``augment_noise``, in input units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pocketml.compress.distill.losses import FeatureMatcher, logit_loss
from pocketml.compress.distill.student import check_student
from pocketml.compress.finetune import finetune
from pocketml.data.dataset import Split
from pocketml.errors import PocketMLError


@dataclass(frozen=True)
class DistillConfig:
    """Settings of both stages (defaults as the ``distill`` recipe stage)."""

    temperature: float = 4.0
    alpha: float = 0.7
    hidden_weight: float = 1.0
    general_epochs: int = 10
    task_epochs: int = 30
    augment_noise: float = 0.0
    lr: float = 3e-3
    seed: int = 0

    def check(self) -> DistillConfig:
        if self.temperature <= 0 or not 0.0 <= self.alpha <= 1.0:
            raise PocketMLError(f"temperature {self.temperature} must be > 0 and alpha {self.alpha} in [0, 1]",
                                "e.g. DistillConfig(temperature=4.0, alpha=0.7)")
        if self.general_epochs < 0 or self.task_epochs < 0:
            raise PocketMLError("distillation epochs must be >= 0", "e.g. general_epochs=10, task_epochs=30")
        return self


class _Pair(nn.Module):
    """The student plus the projections being learned with it (what the optimiser updates)."""

    def __init__(self, student: nn.Module, matcher: FeatureMatcher) -> None:
        super().__init__()
        self.student = student
        self.matcher = matcher

    def forward(self, x):
        return self.student(x)


def distill(teacher: nn.Module, student: nn.Module, unlabelled: np.ndarray | None, task: Split,
            config: DistillConfig = DistillConfig()) -> nn.Module:
    """Train ``student`` from ``teacher``: general stage on ``unlabelled``, task stage on ``task``."""
    config.check()
    check_student(student, teacher)
    teacher = teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    example = torch.as_tensor(task.x[:2])
    matcher = FeatureMatcher(student, teacher, example)
    pair = _Pair(student, matcher)
    t = config.temperature
    gen = torch.Generator().manual_seed(config.seed)

    def general_loss(module, xb, _yb):
        s = module(xb)
        with torch.no_grad():
            tl = teacher(xb)
        return config.hidden_weight * matcher.loss() + logit_loss(s, tl, t)

    def task_loss(module, xb, yb):
        if config.augment_noise > 0:
            xb = xb + config.augment_noise * torch.randn(xb.shape, generator=gen)
        s = module(xb)
        with torch.no_grad():
            tl = teacher(xb)
        return (config.alpha * logit_loss(s, tl, t) + (1 - config.alpha) * F.cross_entropy(s, yb)
                + config.hidden_weight * matcher.loss())

    try:
        if unlabelled is not None and config.general_epochs > 0:
            x = np.asarray(unlabelled, np.float32)
            finetune(pair, Split(x, np.zeros(len(x), np.int64)), epochs=config.general_epochs, lr=config.lr,
                     seed=config.seed, loss=general_loss)
        if config.task_epochs > 0:
            finetune(pair, task, epochs=config.task_epochs, lr=config.lr, seed=config.seed + 1, loss=task_loss)
    finally:
        matcher.remove()
        for p in teacher.parameters():
            p.requires_grad_(True)
    return student.eval()
