"""Students: derived from a teacher by width/depth multipliers, or any module no larger than it.

``derive_student(teacher, example, width, depth)`` keeps the teacher's architecture:

* width: every hidden Conv2d/Linear keeps ``width`` of its output channels (and the next layer the
  matching inputs), by ``torch-pruning``'s dependency graph, so any module it can trace works;
* depth: in every ``nn.Sequential``, shape-preserving children that hold weights (residual-free
  blocks) are kept at the rate ``depth`` (evenly spaced); the rest become ``nn.Identity``.

The student is then re-initialised (seeded): it inherits the shape, not the teacher's weights.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from pocketml.errors import PocketMLError


def param_count(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def check_student(student: nn.Module, teacher: nn.Module) -> None:
    """A student must not be larger than its teacher."""
    ns, nt = param_count(student), param_count(teacher)
    if ns > nt:
        raise PocketMLError(f"the student has {ns:,} parameters, more than its teacher's {nt:,}",
                            "pick a narrower student (width multiplier < 1) or a larger teacher")


def derive_student(teacher: nn.Module, example: torch.Tensor, width: float = 0.5, depth: float = 1.0,
                   seed: int = 0) -> nn.Module:
    """A narrower/shallower copy of ``teacher`` (multipliers in (0, 1]), freshly initialised."""
    for what, v in (("width", width), ("depth", depth)):
        if not 0.0 < v <= 1.0:
            raise PocketMLError(f"student {what} multiplier {v} must be in (0, 1]",
                                "a student is at most as wide and deep as its teacher")
    student = copy.deepcopy(teacher).eval()
    if depth < 1.0:
        _drop_blocks(student, example, depth)
    if width < 1.0:
        import torch_pruning as tp

        layers = [m for m in student.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        pruner = tp.pruner.MetaPruner(student, example, importance=tp.importance.MagnitudeImportance(p=2),
                                      pruning_ratio=1.0 - width, ignored_layers=layers[-1:])
        pruner.step()
    torch.manual_seed(seed)
    for m in student.modules():
        if m is not student and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return student


def _drop_blocks(model: nn.Module, example: torch.Tensor, depth: float) -> None:
    shapes: dict[int, tuple] = {}
    hooks = []
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for child in seq:
            hooks.append(child.register_forward_hook(
                lambda mod, args, out: shapes.__setitem__(id(mod), (tuple(args[0].shape), tuple(out.shape)))))
    with torch.no_grad():
        model(example)
    for h in hooks:
        h.remove()
    done: set[int] = set()  # modules inside a Sequential already thinned are left alone
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        if id(seq) in done:
            continue
        blocks = [i for i, c in enumerate(seq) if id(c) in shapes and shapes[id(c)][0] == shapes[id(c)][1]
                  and any(isinstance(m, (nn.Conv2d, nn.Linear)) for m in c.modules())]
        if not blocks:
            continue
        done.update(id(m) for m in seq.modules())
        keep = max(0, round(len(blocks) * depth))
        kept = {blocks[round(i * len(blocks) / keep)] for i in range(keep)} if keep else set()
        for i in blocks:
            if i not in kept:
                seq[i] = nn.Identity()
