"""``--target-flash``: pick the least aggressive recipe whose artifact fits a flash budget, or say none can.

Each candidate (``int8``, ``qat-int4``, ``deep``, ``deep-int2``, in that order) is sized *before any
training*: its pruning (by magnitude) and quantization are applied to the float weights, the
weights are encoded as the emitter would, and the caller's ``measure(qgraph, weights)`` returns the
flash of the emitted C (constant data and code, compiled). Fine-tuning changes values, not sizes,
so the estimate is close (entropy coding can move a little); the Result states whether the
measured flash met the budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from pocketml.compress.mirror import GraphModule
from pocketml.compress.prune import set_masks
from pocketml.compress.quantize import quantize
from pocketml.compress.recipe import BUILTIN_RECIPES, Recipe
from pocketml.compress.runner import weight_storage
from pocketml.data.dataset import Split
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.ops.registry import SPECS

CANDIDATES = ("int8", "qat-int4", "deep", "deep-int2")
_UNITS = {"": 1, "b": 1, "kb": 1024, "kib": 1024, "k": 1024, "mb": 1024**2, "mib": 1024**2, "m": 1024**2}


def parse_bytes(text: str | int) -> int:
    """``20KB`` → 20480 (KB = KiB = 1024 B, as flash sizes are quoted), ``5000`` → 5000."""
    if isinstance(text, int):
        value = text
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise PocketMLError(f"cannot read the flash budget {text!r}", "write it like 20KB, 1.5MB or 12000")
        value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise PocketMLError(f"the flash budget {text!r} must be positive", "e.g. --target-flash 20KB")
    return value


@dataclass(frozen=True)
class BudgetChoice:
    recipe: Recipe
    budget: int
    estimates: dict[str, int]  # candidate -> estimated flash bytes


def choose_recipe(budget: int, model: torch.nn.Module, calibration: np.ndarray, name: str,
                  measure: Callable[[object, dict], int], recurrent: str = "sequence") -> BudgetChoice:
    """The first candidate whose estimated flash fits ``budget``; PocketMLError if none does
    (``recurrent``: how an ``nn.LSTM`` is captured, ``graph/capture.py``)."""
    graph = capture(model.eval(), torch.as_tensor(calibration[:1]), name, recurrent)
    estimates: dict[str, int] = {}
    for cand in CANDIDATES:
        recipe = BUILTIN_RECIPES[cand]
        sparsity, bits, formats = 0.0, 8, ("dense", "sparse")
        for st in recipe.stages:
            if st.kind == "prune":
                sparsity = float(st.get("sparsity"))
            if st.kind in ("quantize", "qat"):
                bits = int(st.get("bits"))
            if st.kind == "huffman":
                formats = ("dense", "sparse", "huffman")
        g = graph
        if sparsity > 0:
            mirror = GraphModule(graph)
            set_masks(mirror, sparsity, "magnitude", Split(calibration[:1], np.zeros(1, np.int64)),
                      int(recipe.stages[0].get("min_weights")))
            g = mirror.float_graph()
        layer_bits = {ly.name: bits for ly in graph.layers if getattr(SPECS[ly.kind].op, "packable", False)}
        qgraph = quantize(g, calibration, layer_bits)
        estimates[cand] = int(measure(qgraph, weight_storage(qgraph, layer_bits, formats)))
        if estimates[cand] <= budget:
            return BudgetChoice(recipe, budget, estimates)
    smallest = min(estimates, key=estimates.get)
    raise PocketMLError(
        f"no recipe fits the flash budget of {budget:,} B: the smallest, '{smallest}', needs about "
        f"{estimates[smallest]:,} B (estimates: {', '.join(f'{k} {v:,} B' for k, v in estimates.items())})",
        "raise --target-flash, pick a board with more flash, or distill to a smaller model first "
        "(a recipe with a distill stage)")
