"""Distillation losses: softened logits (Hinton) and intermediate layers through learned projections.

* ``logit_loss``: ``T² · KL(softmax(t/T) ‖ softmax(s/T))``; the ``T²`` keeps gradients comparable
  across temperatures.
* :class:`FeatureMatcher`: hooks the outputs of the teacher's and the student's hidden Conv2d /
  Linear layers (all but the last, paired by relative depth) and of any ``nn.MultiheadAttention``
  (its attention map). A hidden pair is compared by MSE after a learned projection of the student
  feature to the teacher's width (1x1 conv or linear) and, if needed, pooling to the teacher's
  spatial size, as TinyBERT's ``W_h``; attention maps of equal shape are compared directly.
* :class:`InternalsMatcher`: for models that expose their internals (``forward_internals(x) ->
  Internals``: embedding-layer output, each layer's hidden states and attention distributions, e.g.
  the transformers of ``pocketml.nlp``), TinyBERT's layer-to-layer losses: embedding MSE through a
  learned ``W_e``, hidden-state MSE through a learned ``W_h`` (both relative to the target's mean
  square), and attention-distribution KL (``attention_loss``), student layer ``m`` matched to
  teacher layer ``layer_map(M, N)[m]`` (g(m) = ceil(m·N/M), any M <= N).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pocketml.errors import PocketMLError


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


@dataclass(frozen=True)
class Internals:
    """What a model exposes for layer-to-layer distillation (``forward_internals(x)``).

    embeddings [N, L, D]; hidden: one [N, L, D] per layer; attentions: one [N, H, L, L] per layer
    (probabilities over the last axis); mask [N, L] (True for real tokens); logits [N, C] or None
    (a pretrained encoder without a task head).
    """

    embeddings: torch.Tensor
    hidden: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...]
    mask: torch.Tensor
    logits: torch.Tensor | None = None


def layer_map(n_student: int, n_teacher: int) -> list[int]:
    """TinyBERT's uniform mapping generalised to any student depth M <= teacher depth N.

    Student layer m (1-based) learns teacher layer g(m) = ceil(m·N/M); 0-based, as returned here:
    ``ceil((m+1)·N/M) - 1``. When M divides N this is TinyBERT's g(m) = m·N/M exactly (2 onto 6:
    teacher layers 3 and 6); otherwise the layers are spread as evenly as integers allow (4 onto 6:
    2, 3, 5, 6). The last student layer always learns the last teacher layer, the map is strictly
    increasing (no teacher layer used twice) and M = N is the identity.
    """
    if n_student < 1 or n_teacher < 1 or n_student > n_teacher:
        raise PocketMLError(f"cannot map {n_student} student layers onto {n_teacher} teacher layers",
                            f"use a student with 1 to {max(n_teacher, 1)} layers (no more than the teacher's)")
    return [-(-(m + 1) * n_teacher // n_student) - 1 for m in range(n_student)]


def _group_heads(attn: torch.Tensor, heads: int) -> torch.Tensor:
    """Average groups of adjacent heads down to ``heads`` (rows stay distributions)."""
    n, h, lq, lk = attn.shape
    if h == heads:
        return attn
    return attn.reshape(n, heads, h // heads, lq, lk).mean(2)


def attention_loss(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """KL(teacher ‖ student) between attention distributions [N, H, L, L], mean over real query rows.

    If the teacher has more heads than the student (a multiple), adjacent teacher heads are averaged
    into one target per student head. Zero when the distributions are equal.
    """
    if teacher.shape[1] % student.shape[1] or teacher.shape[0] != student.shape[0] \
            or teacher.shape[2:] != student.shape[2:]:
        raise PocketMLError(f"attention maps {tuple(student.shape)} (student) and {tuple(teacher.shape)} "
                            "(teacher) cannot be compared",
                            "the teacher's head count must be a multiple of the student's, same sequence length")
    t = _group_heads(teacher.detach(), student.shape[1])
    kl = (torch.xlogy(t, t) - t * torch.log(student.clamp_min(1e-12))).sum(-1)  # [N, H, L]
    if mask is None:
        return kl.mean()
    rows = mask[:, None, :].to(kl.dtype).expand_as(kl)
    return (kl * rows).sum() / rows.sum().clamp_min(1.0)


def masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """MSE over the real tokens only ([N, L, D] tensors, mask [N, L]), relative to the target's mean square.

    Dividing by mean(b²) makes the loss scale-free (1 for predicting zeros): pretrained transformers
    have hidden dimensions of very large magnitude, whose raw MSE would drown every other loss.
    """
    m = torch.ones(a.shape[:-1], dtype=a.dtype) if mask is None else mask.to(a.dtype)
    m = m[..., None]
    return ((a - b) ** 2 * m).sum() / ((b.detach() ** 2) * m).sum().clamp_min(1e-12)


class InternalsMatcher(nn.Module):
    """TinyBERT's intermediate losses between two models that expose :class:`Internals`.

    Holds the learned projections (``W_e`` for the embedding layer, one ``W_h`` per matched layer)
    from the student's width to the teacher's; they are trained with the student and discarded after.
    """

    def __init__(self, student_width: int, teacher_width: int, student_layers: int, teacher_layers: int) -> None:
        super().__init__()
        if student_width > teacher_width:
            raise PocketMLError(f"the student's hidden size {student_width} is wider than the teacher's "
                                f"{teacher_width}", "pick a student hidden size <= the teacher's")
        self.mapping = layer_map(student_layers, teacher_layers)
        self.w_e = nn.Linear(student_width, teacher_width)
        self.w_h = nn.ModuleList(nn.Linear(student_width, teacher_width) for _ in self.mapping)

    def losses(self, s: Internals, t: Internals) -> dict[str, torch.Tensor]:
        """{"embedding", "hidden", "attention"}: each a sum over matched layers."""
        mask = t.mask
        emb = masked_mse(self.w_e(s.embeddings), t.embeddings.detach(), mask)
        hid = torch.zeros(())
        att = torch.zeros(())
        for m, n in enumerate(self.mapping):
            hid = hid + masked_mse(self.w_h[m](s.hidden[m]), t.hidden[n].detach(), mask)
            att = att + attention_loss(s.attentions[m], t.attentions[n], mask)
        return {"embedding": emb, "hidden": hid, "attention": att}
