"""Patch-based execution of a model's first stage (MCUNetV2): the early layers run patch by patch.

The early layers of a CNN hold the largest maps (ResNet-8: two 32x32x16 maps alive across its first
residual block). Running those layers on one spatial patch of the stage's output at a time keeps
only patch-sized buffers alive, plus the stage's input and output maps; the overlap of the patches'
receptive fields is computed again for every patch (more MACs, reported beside the bytes saved).

The stage is a prefix of the op list, from the graph's input to the first tensor that is the only
one alive after it (the stage's output). For an output patch grid ``(gh, gw)``, every map of the
stage gets one region per patch (a :class:`Span` per axis), computed backwards from the output
patch through each op's window (kernel, stride, dilation, padding: ``pocketml/ops/window.py``); a
map read by two ops (a residual skip) gets the union, and an op that reads less than the union
reads a crop of it (a STRIDED_SLICE). Every op then runs on its region with its padding removed:

* the stage's input patch is copied from the input map, positions outside the map set to its zero
  point (what TFLite's padding means for the integer kernels);
* after an op writes its patch, positions outside its map are set to the map's zero point (the
  op computed values there; the next layer must see padding);
* the output patch, always inside the map, is copied into the stage's output map.

So each layer computed on a patch equals the crop of the layer computed on the whole map, and the
stage's output equals the unpatched graph's bit for bit (``tests/test_patch.py``). The patch's ops
form an ordinary :class:`QuantGraph` (``PatchStage.inner``) with shapes that do not change from
patch to patch: the memory planner plans it once (in-place layers, kernel scratch), its C is the
ordinary kernels' C with patch-shaped parameters, called in a loop over the patches
(``deploy/c/emit.py``). In the model, the stage is one op (:class:`PatchStage`) whose patch arena
is a scratch region of the model's plan, alive while the stage runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from pocketml.graph.ir import QuantGraph, TensorInfo
from pocketml.graph.planner import KernelNeeds, MemoryPlan, plan_memory, sharing
from pocketml.ops.strided_slice.op import StridedSlice
from pocketml.ops.window import Window


@dataclass(frozen=True)
class Span:
    """One axis of a map's patch: patch ``k`` covers positions ``[step·k + offset, … + size)``."""

    step: int
    offset: int
    size: int

    def start(self, k: int) -> int:
        return self.step * k + self.offset

    def leaves(self, extent: int, count: int) -> bool:
        """Whether some patch of ``count`` reaches outside ``[0, extent)``."""
        return any(self.start(k) < 0 or self.start(k) + self.size > extent for k in range(count))


@dataclass(frozen=True)
class PatchMap:
    """Where the patch buffer of a stage map lies in the whole map, for every patch (i, j)."""

    tensor: str
    shape: tuple[int, int, int]  # the whole map (H, W, C)
    rows: Span
    cols: Span
    zero_point: int

    def box(self, i: int, j: int) -> tuple[int, int]:
        return self.rows.start(i), self.cols.start(j)


@dataclass(frozen=True, eq=False)
class PatchStage:
    """The first ops of a model run patch by patch: one op of the model's graph.

    ``inner`` holds the stage's ops on one patch (patch-shaped maps, no padding, crops where an op
    reads less of a map than another); ``source`` the ``maps`` input patch (loaded with its zero-point
    border), ``fills`` the maps whose border is set to their zero point after they are written,
    ``sink`` the output patch. ``plan`` is the patch arena's memory plan (made for the kernels the C
    will run, by :func:`plan_patched`). A graph holding a stage runs (``QuantGraph.run``), plans
    and emits C; it is not an op kind of the registry, so it has no ``.tflite`` mapping: write the
    unpatched graph.
    """

    kind: ClassVar[str] = "patch_stage"
    in_place: ClassVar[str] = "none"
    name: str
    inputs: tuple[str, ...]
    output: str
    grid: tuple[int, int]
    inner: QuantGraph
    source: PatchMap
    fills: tuple[PatchMap, ...]
    sink: PatchMap
    stage_ops: tuple[Any, ...]  # the ops the stage replaces (their MACs once, their weights)
    plan: MemoryPlan | None = None

    @property
    def patches(self) -> int:
        return self.grid[0] * self.grid[1]

    def prepare(self, tensors: dict[str, TensorInfo]) -> list[Any]:
        if tensors[self.inputs[0]].shape != self.source.shape or tensors[self.output].shape != self.sink.shape:
            raise ValueError(f"{self.name}: the stage's maps do not match the graph's tensors")
        return self.inner.op_data

    def evaluate(self, data: list[Any], x: np.ndarray) -> np.ndarray:
        """The patch loop the C runs, in numpy: load, the inner ops with their borders, store."""
        fills = {m.tensor: m for m in self.fills}
        sink = self.sink
        out = np.empty((len(x), *sink.shape), x.dtype)
        for i in range(self.grid[0]):
            for j in range(self.grid[1]):
                values = {self.source.tensor: load_patch(x, self.source, i, j)}
                for op, d in zip(self.inner.ops, data, strict=True):
                    values[op.output] = op.evaluate(d, *(values[t] for t in op.inputs))
                    if op.output in fills:
                        values[op.output] = fill_border(values[op.output], fills[op.output], i, j)
                y0, x0 = sink.box(i, j)
                out[:, y0:y0 + sink.rows.size, x0:x0 + sink.cols.size] = values[sink.tensor]
        return out

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        """MACs of every patch: the stage's own and the overlap computed again."""
        return self.patches * self.inner.macs()

    def stage_macs(self, tensors: dict[str, TensorInfo]) -> int:
        """MACs of the stage's ops run once on the whole maps."""
        return sum(op.macs(tensors) for op in self.stage_ops)

    def param_count(self) -> int:
        return sum(op.param_count() for op in self.stage_ops)

    def stored_bytes(self) -> int:
        return sum(op.stored_bytes() for op in self.stage_ops)


def load_patch(x: np.ndarray, m: PatchMap, i: int, j: int) -> np.ndarray:
    """Patch (i, j) of a batch of maps, positions outside the map holding its zero point."""
    y0, x0 = m.box(i, j)
    h, w, _ = m.shape
    out = np.full((len(x), m.rows.size, m.cols.size, m.shape[2]), m.zero_point, x.dtype)
    ya, yb, xa, xb = max(y0, 0), min(y0 + m.rows.size, h), max(x0, 0), min(x0 + m.cols.size, w)
    if ya < yb and xa < xb:
        out[:, ya - y0:yb - y0, xa - x0:xb - x0] = x[:, ya:yb, xa:xb]
    return out


def fill_border(v: np.ndarray, m: PatchMap, i: int, j: int) -> np.ndarray:
    """``v`` (patch (i, j) of map ``m``) with its positions outside the map set to the zero point."""
    y0, x0 = m.box(i, j)
    h, w, _ = m.shape
    v = v.copy()
    v[:, :max(0, -y0)] = m.zero_point
    v[:, max(0, h - y0):] = m.zero_point
    v[:, :, :max(0, -x0)] = m.zero_point
    v[:, :, max(0, w - x0):] = m.zero_point
    return v


def stage_cuts(graph: QuantGraph) -> list[int]:
    """Every ``k`` such that ``graph.ops[:k]`` can run as one patch stage: ops with a window, reading
    only the graph's one int8 map input and each other, and leaving exactly one map (not a graph
    output) for the ops after them, the input not read after them."""
    if len(graph.inputs) != 1 or len(graph.input_info.shape) != 3 or graph.input_info.dtype != "int8":
        return []
    cuts, made = [], {graph.input}
    for k, op in enumerate(graph.ops, 1):
        if getattr(op, "window", None) is None or op.window() is None or not set(op.inputs) <= made:
            break
        info = graph.tensors[op.output]
        if len(info.shape) != 3 or info.dtype != "int8" or op.output in graph.outputs:
            break
        made.add(op.output)
        later = {t for o in graph.ops[k:] for t in o.inputs}
        crossing = (made & later) - {graph.input}
        if len(crossing) == 1 and graph.input not in later and op.output in crossing:
            cuts.append(k)
    return cuts


def _backward(w: Window, rows: Span, cols: Span) -> tuple[Span, Span]:
    """The input region an op's output region reads, per axis."""
    return tuple(Span(s.step * st, s.offset * st - pad, (s.size - 1) * st + (k - 1) * d + 1)
                 for s, k, st, d, pad in zip((rows, cols), w.kernel, w.stride, w.dilation, w.pad, strict=True))


def _union(needs: list[tuple[Span, Span]]) -> tuple[Span, Span] | None:
    out = []
    for axis in range(2):
        spans = [n[axis] for n in needs]
        if len({s.step for s in spans}) != 1:
            return None  # two readers stride differently over this map: no common patch
        lo = min(s.offset for s in spans)
        out.append(Span(spans[0].step, lo, max(s.offset + s.size for s in spans) - lo))
    return out[0], out[1]


def build_stage(graph: QuantGraph, cut: int, grid: tuple[int, int], name: str = "patch_stage") -> PatchStage | None:
    """``graph.ops[:cut]`` as a :class:`PatchStage` over an output grid ``grid``; None when the grid
    does not divide the output map or the regions do not line up."""
    ops = graph.ops[:cut]
    out = ops[-1].output
    oh, ow, _ = graph.tensors[out].shape
    if oh % grid[0] or ow % grid[1]:
        return None
    regions: dict[str, tuple[Span, Span]] = {out: (Span(oh // grid[0], 0, oh // grid[0]),
                                                   Span(ow // grid[1], 0, ow // grid[1]))}
    needs: dict[str, list[tuple[Span, Span]]] = {}
    reads: dict[tuple[str, str], tuple[Span, Span]] = {}
    for op in reversed(ops):
        if op.output != out:
            if op.output not in needs:
                return None  # a map nothing in the stage reads
            region = _union(needs[op.output])
            if region is None:
                return None
            regions[op.output] = region
        for t in op.inputs:
            reads[(op.name, t)] = need = _backward(op.window(), *regions[op.output])
            needs.setdefault(t, []).append(need)
    region = _union(needs[graph.input])
    if region is None:
        return None
    regions[graph.input] = region
    tensors: dict[str, TensorInfo] = {}
    maps: dict[str, PatchMap] = {}
    for t, (rows, cols) in regions.items():
        info = graph.tensors[t]
        tensors[t] = replace(info, shape=(rows.size, cols.size, info.shape[2]))
        maps[t] = PatchMap(t, info.shape, rows, cols, info.quant.zero_point)
    inner_ops = []
    for op in ops:
        ins = []
        for k, t in enumerate(op.inputs):
            (rows, cols), need = regions[t], reads[(op.name, t)]
            if need == (rows, cols):
                ins.append(t)
                continue
            crop = f"{t}@{op.name}"  # the part of the map this op reads
            tensors[crop] = replace(tensors[t], name=crop, shape=(need[0].size, need[1].size, tensors[t].shape[2]))
            inner_ops.append(StridedSlice(f"{name}_{op.name}_crop{k}", (t,), crop,
                                          (need[0].offset - rows.offset, need[1].offset - cols.offset, 0),
                                          tensors[crop].shape, (1, 1, 1)))
            ins.append(crop)
        inner_ops.append(op.on_patch(f"{name}_{op.name}", tuple(ins), op.output, tensors[op.output].shape))
    if all(sharing(op) == "alias" for op in inner_ops):
        return None  # a stage of PADs only: nothing would run on the patches
    inner = QuantGraph(f"{graph.name}_{name}", tensors, inner_ops, (graph.input,), (out,))
    try:
        inner.op_data  # noqa: B018  (every patch-shaped op prepared: its checks run here)
    except ValueError:
        return None
    fills = tuple(maps[op.output] for op in inner_ops
                  if op.output in maps and op.output != out and sharing(op) != "alias"
                  and (maps[op.output].rows.leaves(maps[op.output].shape[0], grid[0])
                       or maps[op.output].cols.leaves(maps[op.output].shape[1], grid[1])))
    return PatchStage(name, (graph.input,), out, grid, inner, maps[graph.input], fills, maps[out], tuple(ops))


def patched_graph(graph: QuantGraph, stage: PatchStage) -> QuantGraph:
    """``graph`` with the stage's ops replaced by the stage (one op); its inner maps removed."""
    cut = len(stage.stage_ops)
    inside = {op.output for op in graph.ops[:cut]} - {stage.output}
    tensors = {t: info for t, info in graph.tensors.items() if t not in inside}
    return QuantGraph(graph.name, tensors, [stage, *graph.ops[cut:]], graph.inputs, graph.outputs, list(graph.notes))


@dataclass(frozen=True)
class PatchedPlan:
    """A model with its first stage run in patches: the graph (the stage one op), its memory plan
    (the patch arena a scratch region of the stage), and what the patches cost."""

    graph: QuantGraph
    plan: MemoryPlan
    stage: PatchStage
    macs: int  # of the whole model, the overlap computed again included
    extra_macs: int  # MACs the patches' overlap adds

    @property
    def label(self) -> str:
        return f"{len(self.stage.stage_ops)} ops in {self.stage.grid[0]}x{self.stage.grid[1]} patches"


KernelsFor = Callable[[QuantGraph], Mapping[str, KernelNeeds]]


def plan_patched(graph: QuantGraph, cut: int, grid: tuple[int, int], *, kernels: KernelsFor | None = None,
                 **options) -> PatchedPlan | None:
    """The memory plan of ``graph`` with ``graph.ops[:cut]`` run in ``grid`` patches (None: not possible).

    ``kernels``: a graph → its kernels' needs (``lambda g: kernel_needs(g, target, limit)``) for the
    patch's ops and the ops after the stage; ``options``: ``plan_memory``'s, for both plans (the
    patch plan always holds its input patch in its arena, which its first layers may write over).
    """
    stage = build_stage(graph, cut, grid)
    return None if stage is None else plan_stage(graph, stage, kernels=kernels, **options)


def plan_stage(graph: QuantGraph, stage: PatchStage, *, kernels: KernelsFor | None = None, below: int | None = None,
               graph_needs: Mapping[str, KernelNeeds] | None = None, **options) -> PatchedPlan | None:
    """The memory plan of ``graph`` with ``stage`` (from :func:`build_stage`) run in patches; None when
    the bytes alive while the stage runs (its patch arena, its output map, the input in the arena)
    already take ``below`` bytes. ``graph_needs``: ``kernels(graph)`` if already known (the ops after
    the stage need the same)."""
    inner_needs = dict(kernels(stage.inner)) if kernels else {}
    inner_options = {**options, "input_in_arena": True}
    inner_plan = plan_memory(stage.inner, kernels=inner_needs or None, **inner_options)
    work = inner_plan.arena_bytes + stage.sink.rows.size * stage.sink.cols.size * stage.sink.shape[2]
    held = work + graph.tensors[stage.output].nbytes + (graph.input_info.nbytes if options.get("input_in_arena") else 0)
    if below is not None and held >= below:
        return None
    stage = replace(stage, plan=inner_plan)
    outer = patched_graph(graph, stage)
    if graph_needs is None:
        graph_needs = kernels(graph) if kernels else {}
    after = {op.name for op in outer.ops}
    needs = {name: n for name, n in graph_needs.items() if name in after and name != stage.name}
    needs[stage.name] = KernelNeeds(work)  # the patch arena and the output patch: alive while the stage runs
    plan = plan_memory(outer, kernels=needs, **options)
    if stage.name in plan.portable_ops:  # the fallback dropped the patch arena: plan without it
        plan = plan_memory(outer, kernels=needs, **{**options, "fallback": 0.0})
    macs = outer.macs()
    return PatchedPlan(outer, plan, stage, macs, macs - graph.macs())


def patch_plans(graph: QuantGraph, *, kernels: KernelsFor | None = None, max_patches: int = 64,
                max_extra_macs: float | None = None, below: int | None = None, **options) -> list[PatchedPlan]:
    """Every patched plan of ``graph``: each stage cut, each grid that divides the stage's output
    map, of 2 to ``max_patches`` patches. Not planned (they could not be chosen): stages whose
    recomputed overlap adds more than ``max_extra_macs`` times the model's MACs, and stages whose
    bytes alive while they run (the patch arena, the output map, the input in the arena) take
    ``below`` bytes or more."""
    plans = []
    budget = None if max_extra_macs is None else max_extra_macs * graph.macs()
    graph_needs = kernels(graph) if kernels else {}
    for cut in stage_cuts(graph):
        out = graph.tensors[graph.ops[cut - 1].output]
        held = out.nbytes + (graph.input_info.nbytes if options.get("input_in_arena") else 0)
        if below is not None and held >= below:
            continue
        oh, ow, _ = out.shape
        for gh in (d for d in range(1, oh + 1) if oh % d == 0):
            for gw in (d for d in range(1, ow + 1) if ow % d == 0 and 1 < gh * d <= max_patches):
                stage = build_stage(graph, cut, (gh, gw))
                if stage is None or (budget is not None and
                                     stage.macs(graph.tensors) - stage.stage_macs(graph.tensors) > budget):
                    continue
                planned = plan_stage(graph, stage, kernels=kernels, below=below, graph_needs=graph_needs, **options)
                if planned is not None:
                    plans.append(planned)
    return plans


def best_patched(graph: QuantGraph, below: int, *, kernels: KernelsFor | None = None,
                 max_extra_macs: float = 1.5, min_saving: float = 0.1, plans: list[PatchedPlan] | None = None,
                 **options) -> PatchedPlan | None:
    """The patched plan with the smallest arena (then the fewest MACs) among those whose arena is at
    least ``min_saving`` (10%) below ``below`` (the unpatched plan's arena: recomputing the overlap
    is a steep price for a few bytes) and whose recomputed overlap adds at most ``max_extra_macs``
    times the model's MACs (the latency budget; 1.5: at most 2.5x the MACs); None when none does.
    ``plans``: the candidates already made by :func:`patch_plans` (default: made here with ``options``)."""
    limit = int(below * (1.0 - min_saving))
    if plans is None:
        plans = patch_plans(graph, kernels=kernels, max_extra_macs=max_extra_macs, below=limit + 1, **options)
    fits = [p for p in plans if p.plan.arena_bytes <= limit and p.extra_macs <= max_extra_macs * graph.macs()]
    return min(fits, key=lambda p: (p.plan.arena_bytes, p.macs), default=None)


__all__ = ["PatchMap", "PatchStage", "PatchedPlan", "Span", "best_patched", "build_stage", "fill_border",
           "load_patch", "patch_plans", "patched_graph", "plan_patched", "plan_stage", "stage_cuts"]
