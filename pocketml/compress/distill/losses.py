"""Distillation losses: softened logits (Hinton) and intermediate layers through learned projections.

* ``logit_loss``: ``T² · KL(softmax(t/T) ‖ softmax(s/T))``; the ``T²`` keeps gradients comparable
  across temperatures.
* :class:`FeatureMatcher`: hooks the outputs of the teacher's and the student's hidden Conv2d /
  Linear layers (all but the last, paired by relative depth) and of any ``nn.MultiheadAttention``
  (its attention map). A hidden pair is compared by MSE after a learned projection of the student
  feature to the teacher's width (1x1 conv or linear) and, if needed, pooling to the teacher's
  spatial size, as TinyBERT's ``W_h``; attention maps of equal shape are compared directly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def logit_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, 1), F.softmax(teacher_logits / t, 1),
                    reduction="batchmean") * t * t


def hidden_layers(model: nn.Module) -> list[nn.Module]:
    """Conv2d/Linear layers except the last (the logits)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return layers[:-1]


def attention_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]


def _pairs(student: list[nn.Module], teacher: list[nn.Module]) -> list[tuple[nn.Module, nn.Module]]:
    """Each student layer with the teacher layer at the same relative depth."""
    if not student or not teacher:
        return []
    n_s, n_t = len(student), len(teacher)
    return [(s, teacher[min(n_t - 1, round((i + 1) * n_t / n_s) - 1)]) for i, s in enumerate(student)]


class FeatureMatcher(nn.Module):
    """Records hidden features and attention maps of both models; ``loss()`` after a forward of each."""

    def __init__(self, student: nn.Module, teacher: nn.Module, example: torch.Tensor) -> None:
        super().__init__()
        self.hidden = _pairs(hidden_layers(student), hidden_layers(teacher))
        self.attention = _pairs(attention_layers(student), attention_layers(teacher))
        self._seen: dict[int, torch.Tensor] = {}
        self._hooks = []
        for s, t in self.hidden:
            self._hooks += [s.register_forward_hook(self._keep), t.register_forward_hook(self._keep)]
        for s, t in self.attention:
            self._hooks += [s.register_forward_hook(self._keep_attention),
                            t.register_forward_hook(self._keep_attention)]
        with torch.no_grad():
            was_s, was_t = student.training, teacher.training
            student.eval(), teacher.eval()
            student(example), teacher(example)
            student.train(was_s), teacher.train(was_t)
        self.projections = nn.ModuleList()
        for s, t in self.hidden:
            fs, ft = self._seen[id(s)], self._seen[id(t)]
            if fs.dim() == 4:
                self.projections.append(nn.Conv2d(fs.shape[1], ft.shape[1], 1))
            else:
                self.projections.append(nn.Linear(fs.shape[-1], ft.shape[-1]))

    def _keep(self, module, args, output) -> None:
        self._seen[id(module)] = output

    def _keep_attention(self, module, args, output) -> None:
        if isinstance(output, tuple) and len(output) > 1 and output[1] is not None:
            self._seen[id(module)] = output[1]

    def loss(self) -> torch.Tensor:
        total = torch.zeros(())
        for proj, (s, t) in zip(self.projections, self.hidden, strict=True):
            fs, ft = proj(self._seen[id(s)]), self._seen[id(t)].detach()
            if fs.dim() == 4 and fs.shape[2:] != ft.shape[2:]:
                fs = F.adaptive_avg_pool2d(fs, ft.shape[2:])
            total = total + F.mse_loss(fs, ft)
        for s, t in self.attention:
            a_s, a_t = self._seen.get(id(s)), self._seen.get(id(t))
            if a_s is not None and a_t is not None and a_s.shape == a_t.shape:
                total = total + F.mse_loss(a_s, a_t.detach())
        return total

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []
