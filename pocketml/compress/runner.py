"""Run a recipe: model stages on the PyTorch module, graph stages on the captured graph, then quantize.

    model ─distill / channels─▶ smaller model ─capture─▶ GraphModule ─prune / qat / mixed─▶
          ─quantize (weight bits per layer)─▶ QuantGraph ─encode (dense / sparse / Huffman)─▶ weights

:func:`run_recipe` returns a :class:`Compressed`: the quantized graph, how each layer's weights are
stored (only layers not stored as plain int8), and a :class:`StageRecord` per stage with its effect
on accuracy (float and integer reference), stored bytes, MACs and RAM, measured before and after.
The caller (``pipeline.shrink``) emits the C from it and verifies it like any other graph.
"""

from __future__ import annotations

import copy
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from pocketml.compress.distill import DistillConfig, derive_student, distill
from pocketml.compress.encoding import EncodedWeights, encode_smallest
from pocketml.compress.finetune import accuracy, finetune
from pocketml.compress.mirror import GraphModule
from pocketml.compress.prune import layer_sparsity, param_count, prune_channels, prune_unstructured
from pocketml.compress.quantize import quantize
from pocketml.compress.recipe import TRAINING_STAGES, Recipe, StageSpec
from pocketml.data.dataset import Split
from pocketml.energy.carbon import maybe_track_emissions
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantGraph
from pocketml.graph.layers import FloatGraph
from pocketml.graph.planner import plan_memory
from pocketml.ops.c import const_bytes as count_const_bytes


@dataclass(frozen=True)
class StageRecord:
    """What one recipe stage did: settings, seconds, and figures before/after."""

    name: str
    seconds: float
    figures: dict[str, Any]


@dataclass
class Compressed:
    """A recipe's output: the graph to deploy, each layer's weight storage, the stage records."""

    recipe: Recipe
    qgraph: QuantGraph
    weights: dict[str, EncodedWeights]  # op name -> storage, for layers not stored as plain int8
    bits: dict[str, int]
    stages: list[StageRecord]
    model: nn.Module  # the (possibly distilled / channel-pruned) float model
    float_params: int  # parameters of the model given to the recipe (the float32 baseline)
    notes: list[str] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)  # --target-flash: budget and estimates

    def summary(self, flash_bytes: int, deployed_bytes: int) -> dict[str, Any]:
        """The ``compression`` entry of result.json."""
        out: dict[str, Any] = {
            "recipe": self.recipe.name, "stages": self.recipe.describe(), "recipe_toml": self.recipe.to_toml(),
            "weights": {name: {"format": w.format, "bits": w.bits, "count": w.count, "bytes": w.nbytes,
                               "decode_bits_read": w.decode_work()} for name, w in self.weights.items()},
            "bits": self.bits,
            "decode_scratch_bytes": max((w.count for w in self.weights.values()), default=0),
            "decoded_weights_per_inference": sum(w.count for w in self.weights.values()),
            "notes": self.notes,
        }
        if self.budget:
            out["target_flash"] = {**self.budget, "flash_bytes": flash_bytes,
                                   "met": flash_bytes <= self.budget["budget"]}
        return out


def weight_storage(qgraph: QuantGraph, bits: dict[str, int], formats: tuple[str, ...]) -> dict[str, EncodedWeights]:
    """The smallest allowed format per layer whose op is ``packable`` (conv, FC); plain int8 layers are
    left out (emitted as they are)."""
    out = {}
    for op in qgraph.ops:
        if not getattr(op, "packable", False):
            continue
        b = bits.get(op.name, 8)
        enc = encode_smallest(op.weight, b, formats)
        if not (enc.format == "dense" and b == 8):
            out[op.name] = enc
    return out


def const_bytes(qgraph: QuantGraph, weights: dict[str, EncodedWeights]) -> int:
    """The constant data the C emitter writes (every op's arrays, weights as stored): counted by the
    ops' own C parameter builders (``pocketml.ops.c.const_bytes``), so it equals the emitter's."""
    return count_const_bytes(qgraph, weights)


class _State:
    """Where the recipe is: a PyTorch model, or the captured GraphModule once graph stages begin."""

    def __init__(self, model: nn.Module, calibration: np.ndarray, name: str, recurrent: str = "sequence") -> None:
        self.model = model
        self.recurrent = recurrent  # nn.LSTM's route (graph/capture.py capture)
        self.mirror: GraphModule | None = None
        self.calibration = calibration
        self.name = name
        self.bits: dict[str, int] = {}
        self.formats: tuple[str, ...] = ("dense", "sparse")
        self.quantized = False

    def float_graph(self) -> FloatGraph:
        if self.mirror is not None:
            return self.mirror.float_graph()
        return capture(self.model, torch.as_tensor(self.calibration[:1]), self.name, self.recurrent)

    def to_mirror(self) -> GraphModule:
        if self.mirror is None:
            self.mirror = GraphModule(capture(self.model, torch.as_tensor(self.calibration[:1]), self.name,
                                              self.recurrent))
        return self.mirror

    def float_module(self) -> nn.Module:
        if self.mirror is None:
            return self.model
        was = self.mirror.fake_quant
        self.mirror.fake_quant = False
        return _NoFakeQuant(self.mirror, was)

    def deploy(self) -> tuple[QuantGraph, dict[str, EncodedWeights]]:
        qgraph = quantize(self.float_graph(), self.calibration, self.bits)
        return qgraph, weight_storage(qgraph, self.bits, self.formats)


class _NoFakeQuant(nn.Module):
    """Run a GraphModule in float (for the float accuracy of a stage), restoring its mode after."""

    def __init__(self, mirror: GraphModule, restore: bool) -> None:
        super().__init__()
        self.mirror, self.restore = mirror, restore

    def forward(self, x):
        self.mirror.fake_quant = False
        try:
            return self.mirror(x)
        finally:
            self.mirror.fake_quant = self.restore


def snapshot(state: _State, test: Split) -> dict[str, Any]:
    """Accuracy (float, integer reference), parameters, stored bytes, MACs and RAM of the current state."""
    qgraph, weights = state.deploy()
    ref = qgraph.run(qgraph.quantize_input(test.x))
    plan = plan_memory(qgraph)

    return {
        "accuracy_float": accuracy(state.float_module(), test),
        "accuracy_int": float(np.mean(ref.argmax(1) == test.y)),
        "params": qgraph.param_count(),
        "bytes": const_bytes(qgraph, weights),
        "macs": qgraph.macs(),
        "ram": plan.arena_bytes + max((w.count for w in weights.values()), default=0),
    }


def run_recipe(recipe: Recipe, model: nn.Module, calibration: np.ndarray, train: Split | None, test: Split,
               *, name: str = "model", seed: int = 0, recurrent: str = "sequence") -> Compressed:
    """Run every stage of ``recipe`` in order (validated first: nothing trains if anything is wrong);
    ``recurrent``: how an ``nn.LSTM`` is captured (``graph/capture.py``)."""
    recipe.validate()
    if recipe.needs_labels and train is None:
        raise PocketMLError(f"recipe '{recipe.name}' trains ({recipe.describe()}) "
                            "but no labelled training data was given",
                            "pass train=(x, y) to shrink (or y_train in the .npz), or use --recipe int8")
    state = _State(copy.deepcopy(model).eval(), calibration, name, recurrent)
    records: list[StageRecord] = []
    notes: list[str] = []
    before = snapshot(state, test)
    for i, st in enumerate(recipe.stages):
        torch.manual_seed(seed + i)
        t = time.perf_counter()
        training = st.kind in TRAINING_STAGES  # their emissions are measured (codecarbon, offline)
        with maybe_track_emissions(st.kind) if training else nullcontext() as carbon:
            extra = _run_stage(st, state, train, test, seed + i)
        after = snapshot(state, test)
        figures = {"stage": st.describe(),
                   **{f"{k}_before": v for k, v in before.items()},
                   **{f"{k}_after": v for k, v in after.items()}, **extra}
        if training and carbon.value is not None:
            figures["carbon"] = carbon.value.to_dict()
        records.append(StageRecord(st.kind, time.perf_counter() - t, figures))
        before = after
    qgraph, weights = state.deploy()
    low = sorted({b for b in state.bits.values() if b < 8})
    if low:
        notes.append(f"weights below 8 bits ({', '.join(map(str, low))}-bit) cannot be expressed by TFLite's int8 "
                     "builtin kernels (no int4/int2 weight type for CONV_2D / FULLY_CONNECTED): a .tflite holds "
                     "them widened to int8 (same values, 8 bits each); only the verified C stores them packed")
    if any(w.format != "dense" for w in weights.values()):
        notes.append("sparse / Huffman weight storage exists only in the emitted C (decoded per layer into a "
                     "static scratch buffer); .tflite has no such encoding")
    return Compressed(recipe, qgraph, weights, dict(state.bits), records, state.model,
                      int(records[0].figures["params_before"]), notes)


def _run_stage(st: StageSpec, state: _State, train: Split | None, test: Split, seed: int) -> dict[str, Any]:
    example = torch.as_tensor(state.calibration[:2])
    if st.kind == "distill":
        teacher = state.model
        student = derive_student(teacher, example, float(st.get("width")), float(st.get("depth")), seed)
        cfg = DistillConfig(float(st.get("temperature")), float(st.get("alpha")), float(st.get("hidden_weight")),
                            int(st.get("general_epochs")), int(st.get("task_epochs")), float(st.get("augment_noise")),
                            float(st.get("lr")), seed)
        state.model = distill(teacher, student, state.calibration, train, cfg)
        return {"teacher_params": param_count(teacher), "student_params": param_count(student)}
    if st.kind == "channels":
        n0 = param_count(state.model)
        state.model = prune_channels(state.model, example, float(st.get("ratio")), train,
                                     epochs=int(st.get("epochs")), lr=float(st.get("lr")), seed=seed)
        return {"params_torch_before": n0, "params_torch_after": param_count(state.model)}
    if st.kind == "prune":
        mirror = state.to_mirror()
        prune_unstructured(mirror, train, float(st.get("sparsity")), criterion=st.get("criterion"),
                           epochs=int(st.get("epochs")), lr=float(st.get("lr")), seed=seed,
                           min_weights=int(st.get("min_weights")))
        return {"sparsity": round(mirror.sparsity(), 4),
                "layer_sparsity": {k: round(v, 4) for k, v in layer_sparsity(mirror).items()}}
    if st.kind == "quantize":
        state.bits = _stage_bits(st, state)
        return {"bits": state.bits, "method": "post-training, per-channel symmetric weights, min/max ranges"}
    if st.kind == "qat":
        return _qat(state, _stage_bits(st, state), train, test, int(st.get("epochs")), float(st.get("lr")), seed)
    if st.kind == "mixed":
        bits, sens = _mixed_bits(state, train, list(st.get("bits")), int(st.get("budget_bytes")))
        extra = _qat(state, bits, train, test, int(st.get("epochs")), float(st.get("lr")), seed)
        return {**extra, "sensitivity": sens}
    if st.kind == "huffman":
        state.formats = ("dense", "sparse", "huffman")
        return {"formats": list(state.formats)}
    raise AssertionError(st.kind)


def _layer_names(state: _State) -> list[str]:
    return state.to_mirror().layer_names


def _stage_bits(st: StageSpec, state: _State) -> dict[str, int]:
    """Layer name → bits for a quantize / qat stage: ``layer_bits`` (one per layer) or ``bits`` for all."""
    names = _layer_names(state)
    per_layer = list(st.get("layer_bits"))
    if not per_layer:
        return dict.fromkeys(names, int(st.get("bits")))
    if len(per_layer) != len(names):
        raise PocketMLError(f"{st.kind}: layer_bits has {len(per_layer)} widths but the model has {len(names)} "
                            f"weight layers ({', '.join(names)})",
                            "give one width per conv / linear layer, in the model's order")
    return dict(zip(names, map(int, per_layer), strict=True))


def _qat(state: _State, bits: dict[str, int], train: Split, test: Split, epochs: int, lr: float,
         seed: int) -> dict[str, Any]:
    """PTQ at ``bits`` (measured), then QAT with the deploy arithmetic for ``epochs``."""
    mirror = state.to_mirror()
    state.bits = bits
    qgraph, _ = state.deploy()
    ptq = float(np.mean(qgraph.run(qgraph.quantize_input(test.x)).argmax(1) == test.y))
    mirror.bits = dict(bits)
    mirror.fake_quant = True
    mirror.calibrate(state.calibration)
    finetune(mirror, train, epochs=epochs, lr=lr, seed=seed, before_epoch=lambda e: mirror.calibrate(state.calibration))
    mirror.calibrate(state.calibration)
    fq = accuracy(mirror, test)
    qgraph, _ = state.deploy()
    qat = float(np.mean(qgraph.run(qgraph.quantize_input(test.x)).argmax(1) == test.y))
    return {"bits": bits, "ptq_accuracy": ptq, "qat_accuracy": qat, "qat_fake_quant_accuracy": fq,
            "method": "fake-quantization with the deploy scales, zero points, rounding and clamps"}


def _mixed_bits(state: _State, train: Split, choices: list[int], budget: int) -> tuple[dict[str, int], dict]:
    """Per-layer bits by measured sensitivity: lower the least sensitive layers until ``budget`` bytes fit."""
    names = _layer_names(state)
    choices = sorted(set(choices), reverse=True)
    held = Split(train.x[-min(len(train.x), 400):], train.y[-min(len(train.y), 400):])

    def measure(bits: dict[str, int]) -> tuple[float, int]:
        state.bits = bits
        qgraph, weights = state.deploy()
        acc = float(np.mean(qgraph.run(qgraph.quantize_input(held.x)).argmax(1) == held.y))
        return acc, const_bytes(qgraph, weights)

    base_acc, base_bytes = measure(dict.fromkeys(names, choices[0]))
    sens: dict[str, dict[int, float]] = {}
    for n in names:
        sens[n] = {}
        for b in choices[1:]:
            acc, _ = measure({**dict.fromkeys(names, choices[0]), n: b})
            sens[n][b] = round(base_acc - acc, 4)
    bits = dict.fromkeys(names, choices[0])
    _, size = measure(bits)
    while size > budget:
        best = None
        for n in names:
            lower = [b for b in choices if b < bits[n]]
            if not lower:
                continue
            trial = {**bits, n: lower[0]}
            _, s = measure(trial)
            cost = max(sens[n].get(lower[0], 0.0), 0.0) / max(size - s, 1)
            if best is None or cost < best[0]:
                best = (cost, trial, s)
        if best is None:
            raise PocketMLError(f"mixed precision cannot fit {budget:,} B: {size:,} B with every layer at "
                                f"{choices[-1]} bits", "raise budget_bytes, prune first, or add a huffman stage")
        _, bits, size = best
    state.bits = bits
    return bits, {n: {str(b): d for b, d in v.items()} for n, v in sens.items()}
