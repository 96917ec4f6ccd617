"""Pruning: unstructured (magnitude or saliency, gradual schedule, fine-tuning) and structured channels.

* :func:`prune_unstructured` masks individual weights of a :class:`GraphModule`. Scores are
  ``|w|`` (magnitude) or ``|w · ∂L/∂w|`` accumulated over a few batches (saliency). Sparsity grows
  with Zhu & Gupta's cubic schedule ``s_t = s · (1 - (1 - t/T)^3)`` over the first ``ramp`` of the
  fine-tuning epochs, then the masks are frozen and training continues. Zeros pay off in the C
  only through the sparse weight encoding (``encoding.py``), which the emitter picks when smaller.
* :func:`prune_channels` removes whole output channels (and the matching inputs of the next layer)
  from a PyTorch module with ``torch-pruning``'s dependency graph, so the model really gets smaller
  and faster; the output layer is never pruned.
"""

from __future__ import annotations

import torch
from torch import nn

from pocketml.compress.finetune import finetune
from pocketml.compress.mirror import GraphModule
from pocketml.data.dataset import Split
from pocketml.errors import PocketMLError

CRITERIA = ("magnitude", "saliency")


def check_sparsity(sparsity: float, what: str = "sparsity") -> float:
    """A fraction in [0, 1), or a clear error."""
    if not isinstance(sparsity, (int, float)) or not 0.0 <= float(sparsity) < 1.0:
        raise PocketMLError(f"{what} {sparsity!r} is outside [0, 1)",
                            f"give the fraction of weights to remove, e.g. {what} = 0.7")
    return float(sparsity)


def cubic_schedule(final: float, step: int, steps: int) -> float:
    """Zhu & Gupta (2017): sparsity after ``step`` of ``steps`` pruning steps."""
    t = min(step / max(steps, 1), 1.0)
    return final * (1.0 - (1.0 - t) ** 3)


def saliency_scores(module: GraphModule, split: Split, batches: int = 4,
                    batch_size: int = 128) -> dict[str, torch.Tensor]:
    """``|w · grad|`` per weight, summed over a few batches (first-order loss change if removed)."""
    module.train()
    scores = {name: torch.zeros_like(module.weights[name]) for name in module.layer_names}
    ce = nn.CrossEntropyLoss()
    for b in range(batches):
        xb = torch.as_tensor(split.x[b * batch_size:(b + 1) * batch_size])
        if len(xb) == 0:
            break
        module.zero_grad()
        ce(module(xb), torch.as_tensor(split.y[b * batch_size:(b + 1) * batch_size])).backward()
        for name in module.layer_names:
            scores[name] += (module.weights[name] * module.weights[name].grad).abs().detach()
    module.zero_grad()
    return scores


def set_masks(module: GraphModule, sparsity: float, criterion: str, split: Split, min_weights: int) -> None:
    """Per layer, keep the highest-scoring ``1 - sparsity`` of the (still unmasked) weights."""
    scores = (saliency_scores(module, split) if criterion == "saliency"
              else {n: module.weights[n].detach().abs() for n in module.layer_names})
    for name in module.layer_names:
        w = module.weights[name]
        if w.numel() < min_weights or sparsity <= 0:
            continue
        s = torch.where(module.masks[name], scores[name], torch.full_like(scores[name], -1.0))
        k = int(round(sparsity * w.numel()))
        if k == 0:
            continue
        drop = torch.argsort(s.flatten())[:k]
        mask = torch.ones(w.numel(), dtype=torch.bool)
        mask[drop] = False
        module.masks[name] = mask.view_as(w) & module.masks[name]


def prune_unstructured(module: GraphModule, split: Split, sparsity: float, *, criterion: str = "magnitude",
                       epochs: int = 12, ramp: float = 0.6, lr: float = 1e-3, seed: int = 0,
                       min_weights: int = 256) -> GraphModule:
    """Gradually prune ``module`` to ``sparsity`` per layer (layers under ``min_weights`` kept) and fine-tune."""
    check_sparsity(sparsity)
    if criterion not in CRITERIA:
        raise PocketMLError(f"unknown pruning criterion {criterion!r}", f"use one of {', '.join(CRITERIA)}")
    steps = max(1, int(round(epochs * ramp)))

    def before_epoch(epoch: int) -> None:
        if epoch < steps:
            set_masks(module, cubic_schedule(sparsity, epoch + 1, steps), criterion, split, min_weights)

    finetune(module, split, epochs=max(epochs, steps), lr=lr, seed=seed, before_epoch=before_epoch)
    return module


def prune_channels(model: nn.Module, example: torch.Tensor, ratio: float, split: Split | None = None, *,
                   epochs: int = 10, lr: float = 1e-3, seed: int = 0) -> nn.Module:
    """Remove ``ratio`` of the channels of every conv/hidden linear (L2 magnitude) and fine-tune."""
    import torch_pruning as tp

    check_sparsity(ratio, "channel ratio")
    model = model.eval()
    linears = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    ignored = linears[-1:]  # the output layer keeps its classes
    pruner = tp.pruner.MetaPruner(model, example, importance=tp.importance.MagnitudeImportance(p=2),
                                  pruning_ratio=ratio, ignored_layers=ignored)
    pruner.step()
    if split is not None and epochs > 0:
        finetune(model, split, epochs=epochs, lr=lr, seed=seed)
    return model.eval()


def param_count(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def layer_sparsity(module: GraphModule) -> dict[str, float]:
    return {n: float(1.0 - module.masks[n].float().mean()) for n in module.layer_names}


__all__ = ["CRITERIA", "check_sparsity", "cubic_schedule", "prune_unstructured", "prune_channels",
           "layer_sparsity", "param_count"]
