"""Two-stage distillation as TinyBERT: general (unlabelled, mimic the teacher), then task-specific.

    general:  L = hidden_weight · Σ MSE(W_h · h_s, h_t) + T² · KL(p_t^T ‖ p_s^T)          (no labels)
    task:     L = alpha · T² · KL(p_t^T ‖ p_s^T) + (1 - alpha) · CE(s, y) + hidden_weight · Σ MSE(...)

Inputs of the task stage can be augmented with Gaussian noise (``augment_noise``, in input units).

Models that expose their internals (``forward_internals(x) -> Internals``, e.g. ``pocketml.nlp``'s
transformers) are matched layer to layer as TinyBERT instead of by hooks:

    general:  L = embedding_weight · MSE(E_s W_e, E_t) + Σ_m [hidden_weight · MSE(H_s^m W_h, H_t^g(m))
                  + attention_weight · KL(A_t^g(m) ‖ A_s^m)]      (+ logit loss if both have logits)
    task:     L = alpha · T² · KL(p_t^T ‖ p_s^T) + (1 - alpha) · CE(s, y) + the intermediate terms, or, with
              ``task_intermediate_epochs > 0``, as TinyBERT: first the intermediate terms alone for that
              many epochs, then the prediction-layer terms alone for ``task_epochs``

``extra`` (a :class:`Split`, optional) adds rows to the prediction-layer step only: TinyBERT's
augmented sentences, or unlabelled in-domain text, both labelled by the teacher's soft logits. A
label of -1 means "no label": the cross-entropy term skips that row (it is summed over labelled
rows and divided by the batch size, so every row weighs the same). With ``task_intermediate_epochs
> 0`` the teacher is only asked for logits on these rows (``CachedTeacher.fill(x, internals=False)``
keeps just those).

The general stage may use another teacher (``general_teacher``: the pretrained model, while the
task stage uses the fine-tuned one, as TinyBERT). ``progress(stage, batches_done, batches_total)``
is called after every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pocketml.compress.distill.losses import FeatureMatcher, Internals, InternalsMatcher, logit_loss
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
    attention_weight: float = 1.0  # models with internals: attention-distribution KL
    embedding_weight: float = 1.0  # models with internals: embedding-layer MSE through W_e
    task_intermediate_epochs: int = 0  # models with internals: intermediate-only epochs before the task stage
    batch_size: int = 64  # models with internals (the hook path keeps finetune's default, also 64)

    def check(self) -> DistillConfig:
        if self.temperature <= 0 or not 0.0 <= self.alpha <= 1.0:
            raise PocketMLError(f"temperature {self.temperature} must be > 0 and alpha {self.alpha} in [0, 1]",
                                "e.g. DistillConfig(temperature=4.0, alpha=0.7)")
        if self.general_epochs < 0 or self.task_epochs < 0:
            raise PocketMLError("distillation epochs must be >= 0", "e.g. general_epochs=10, task_epochs=30")
        if min(self.hidden_weight, self.attention_weight, self.embedding_weight) < 0 or self.batch_size < 1:
            raise PocketMLError("loss weights must be >= 0 and batch_size >= 1",
                                "e.g. hidden_weight=1.0, attention_weight=1.0, batch_size=64")
        return self


class _Pair(nn.Module):
    """The student plus the projections being learned with it (what the optimiser updates)."""

    def __init__(self, student: nn.Module, matcher: FeatureMatcher) -> None:
        super().__init__()
        self.student = student
        self.matcher = matcher

    def forward(self, x):
        return self.student(x)


def label_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the rows with a label (y >= 0), divided by the whole batch size (0 if none)."""
    known = y >= 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[known], y[known], reduction="sum") / len(y)


def _with_extra(task: Split, extra: Split | None) -> Split:
    if extra is None or not len(extra.x):
        return task
    if np.asarray(extra.x).shape[1:] != np.asarray(task.x).shape[1:]:
        raise PocketMLError(f"extra rows of shape {np.asarray(extra.x).shape[1:]} do not match the task's "
                            f"{np.asarray(task.x).shape[1:]}", "encode the extra text with the task's tokenizer")
    return Split(np.concatenate([task.x, extra.x]), np.concatenate([task.y, extra.y]).astype(np.int64))


def _has_internals(model: nn.Module | None) -> bool:
    return model is not None and callable(getattr(model, "forward_internals", None))


def distill(teacher: nn.Module, student: nn.Module, unlabelled: np.ndarray | None, task: Split,
            config: DistillConfig = DistillConfig(), *, general_teacher: nn.Module | None = None,
            progress: Callable[[str, int, int], None] | None = None, extra: Split | None = None) -> nn.Module:
    """Train ``student`` from ``teacher``: general stage on ``unlabelled``, task stage on ``task``.

    ``general_teacher`` (default ``teacher``) is mimicked in the general stage; ``extra`` rows join
    the prediction-layer step (label -1: teacher's soft logits only).
    """
    config.check()
    check_student(student, teacher)
    if _has_internals(student) and _has_internals(teacher):
        return _distill_internals(teacher, general_teacher or teacher, student, unlabelled, task, config, progress,
                                  extra)
    task = _with_extra(task, extra)
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
        return (config.alpha * logit_loss(s, tl, t) + (1 - config.alpha) * label_loss(s, yb)
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


def _frozen(model: nn.Module) -> list[bool]:
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return flags


def _thaw(model: nn.Module, flags: list[bool]) -> None:
    for p, f in zip(model.parameters(), flags, strict=True):
        p.requires_grad_(f)


def _distill_internals(teacher: nn.Module, general_teacher: nn.Module, student: nn.Module,
                       unlabelled: np.ndarray | None, task: Split, config: DistillConfig,
                       progress: Callable[[str, int, int], None] | None, extra: Split | None = None) -> nn.Module:
    """TinyBERT's two stages for models exposing :class:`Internals` (see the module docstring)."""
    example = torch.as_tensor(task.x[:2])
    with torch.no_grad():
        was = student.training
        s0: Internals = student.eval().forward_internals(example)
        t0: Internals = teacher.eval().forward_internals(example)
        student.train(was)
    matcher = InternalsMatcher(s0.embeddings.shape[-1], t0.embeddings.shape[-1], len(s0.hidden), len(t0.hidden))
    pair = _Pair(student, matcher)
    t = config.temperature
    counts = {"general": 0, "task layers": 0, "task": 0}

    def intermediate(s: Internals, tt: Internals) -> torch.Tensor:
        parts = matcher.losses(s, tt)
        return (config.embedding_weight * parts["embedding"] + config.hidden_weight * parts["hidden"]
                + config.attention_weight * parts["attention"])

    def tick(stage: str, n: int, epochs: int) -> None:
        counts[stage] += 1
        if progress is not None:
            progress(stage, counts[stage], epochs * -(-n // config.batch_size))

    flags = {id(m): (m, _frozen(m)) for m in (teacher, general_teacher)}
    try:
        if unlabelled is not None and config.general_epochs > 0 and len(unlabelled):
            x = np.asarray(unlabelled)

            def general_loss(module, xb, _yb):
                s = student.forward_internals(xb)
                with torch.no_grad():
                    tt = general_teacher.forward_internals(xb)
                loss = intermediate(s, tt)
                if s.logits is not None and tt.logits is not None:
                    loss = loss + logit_loss(s.logits, tt.logits, t)
                tick("general", len(x), config.general_epochs)
                return loss

            finetune(pair, Split(x, np.zeros(len(x), np.int64)), epochs=config.general_epochs, lr=config.lr,
                     batch_size=config.batch_size, seed=config.seed, loss=general_loss)
        if config.task_intermediate_epochs > 0:
            def task_intermediate_loss(module, xb, yb):
                s = student.forward_internals(xb)
                with torch.no_grad():
                    tt = teacher.forward_internals(xb)
                tick("task layers", len(task.x), config.task_intermediate_epochs)
                return intermediate(s, tt)

            finetune(pair, task, epochs=config.task_intermediate_epochs, lr=config.lr, batch_size=config.batch_size,
                     seed=config.seed + 2, loss=task_intermediate_loss)
        if config.task_epochs > 0:
            rows = _with_extra(task, extra)

            def task_loss(module, xb, yb):
                s = student.forward_internals(xb)
                with torch.no_grad():
                    if config.task_intermediate_epochs == 0:
                        tt = teacher.forward_internals(xb)
                        tl = tt.logits
                    else:
                        tl = teacher(xb)  # logits only (a CachedTeacher answers from its cache)
                loss = (config.alpha * logit_loss(s.logits, tl, t)
                        + (1 - config.alpha) * label_loss(s.logits, yb))
                if config.task_intermediate_epochs == 0:
                    loss = loss + intermediate(s, tt)
                tick("task", len(rows.x), config.task_epochs)
                return loss

            finetune(pair, rows, epochs=config.task_epochs, lr=config.lr, batch_size=config.batch_size,
                     seed=config.seed + 1, loss=task_loss)
    finally:
        for model, f in flags.values():
            _thaw(model, f)
    return student.eval()
