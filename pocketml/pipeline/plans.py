"""Which memory plan a deployment runs: speed, ram, or balanced (the smallest RAM within a latency budget).

    speed     the default plan (``plan_memory(graph)``): in-place layers and recentring moves, the
              input and the DSP kernels' scratch outside the arena; no extra instructions
    ram       the smallest-RAM plan (docs/memory.md): the input in the arena, and on a board with the
              DSP extension the kernels' scratch in it, depthwise layers in channel blocks and the
              lean fully connected kernel where it lowers the peak, explicit PADs fused into the
              convs reading them and max pools into the convs before them where that lowers the
              arena (``graph/fuse.py``: the padded map and the conv's map never exist), and the
              first stage in patches where that saves 10% of the arena within 1.5x more MACs
              (``ram+patch``, below)
    balanced  a plan search: the candidates below, each built for the board and run once in QEMU;
              the smallest peak RAM whose latency stays within the budget (``max_latency_ms``, or
              :data:`BALANCED_SLACK` over the speed plan's when none is given)

The candidates, from fastest to smallest: speed, ram, ``ram+fuse`` (ram with pads and pools fused into
the convs, when that lowers the arena), then ram with a growing share of the MACs
allowed on the scratch-free portable kernels (``plan_memory(fallback=...)``, :data:`FALLBACKS`; on
a board with the DSP extension only), then ``ram+patch``: the ram plan with the model's first stage
run in spatial patches (``graph/patch.py`` :func:`best_patched`, when it finds a stage that saves
10% of the arena within 1.5x more MACs). A patched plan runs a different graph (the stage is one
op), so a candidate carries its graph (:class:`BoardPlan`); its outputs equal the unpatched
graph's bit for bit, which stays the reference. ``ram`` takes the patched plan whenever there is
one; ``balanced`` only when its instructions fit the budget (the default +10% normally refuses it).

A candidate's peak RAM is the board build's RAM by the one fit rule (``devices/footprint.py``:
.data + .bss + measured stack + the caller's buffers); its latency is the QEMU instruction count
of one inference at one instruction per cycle (``devices/cost.py`` ``INSTRUCTIONS_METHOD``: a lower
bound on cycles). Without QEMU (no toolchain, or a core it cannot run) the peak is the arena plus
the caller's buffers and the latency the MAC cost model's (``estimate_cost``), which cannot tell
the plans apart: the search then keeps the smallest peak.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pocketml.deploy.c import emit_c
from pocketml.deploy.c.dsp import KernelTarget
from pocketml.devices import Device, estimate_cost
from pocketml.devices.cost import INSTRUCTIONS_METHOD
from pocketml.errors import PocketMLError
from pocketml.graph.fuse import FusedGraph, fuse
from pocketml.graph.ir import QuantGraph
from pocketml.graph.patch import PatchedPlan, best_patched
from pocketml.graph.planner import MemoryPlan, plan_memory

MEMORY_PLANS = ("speed", "ram", "balanced")
RAM_SCRATCH_LIMIT = 1024  # bytes: the RAM plan's depthwise slabs stay under this (channel blocks)
FALLBACKS = (0.1, 0.25, 0.5, 1.0)  # shares of the MACs balanced may move to the portable kernels
BALANCED_SLACK = 0.10  # balanced without --max-latency: at most 10% over the speed plan's latency
COST_MODEL_METHOD = ("estimate: MACs x cycles-per-MAC of the core class (devices/cost.py), the same for every "
                     "plan: QEMU could not run this board's build")


def check_memory(memory: str, max_latency_ms: float | None = None) -> None:
    if memory not in MEMORY_PLANS:
        raise PocketMLError(f"unknown memory plan {memory!r}",
                            "pass --memory speed (default), ram (the smallest RAM) or balanced (the smallest RAM "
                            "within a latency budget); docs/memory.md")
    if max_latency_ms is not None and memory != "balanced":
        raise PocketMLError(f"--max-latency is a budget for the plan search, not for --memory {memory}",
                            "pass --memory balanced --max-latency MS")
    if max_latency_ms is not None and not max_latency_ms > 0:
        raise PocketMLError(f"--max-latency must be a positive number of milliseconds, got {max_latency_ms}",
                            "pass e.g. --max-latency 50")


@dataclass(frozen=True)
class BoardPlan:
    """What the board's C runs: the graph (a patched plan's has its first stage as one op; a fused
    one its PADs and max pools inside the convs), its memory plan, the scratch limit to emit it with, the
    patched plan it came from (None: unpatched) and the fusion (None: none)."""

    graph: QuantGraph
    plan: MemoryPlan
    scratch_limit: int | None
    patched: PatchedPlan | None = None
    fused: FusedGraph | None = None

    @property
    def fused_layers(self) -> list[list[str]]:
        """[first, second] op names of every fusion: [pad, conv], [conv, pool] (result.json ``fused``)."""
        return [list(pair) for pair in self.fused.fused] if self.fused is not None else []

    @property
    def patch_label(self) -> str:
        """``stage of N ops, RxC patches`` ("" when unpatched)."""
        if self.patched is None:
            return ""
        stage = self.patched.stage
        return f"stage of {len(stage.stage_ops)} ops, {stage.grid[0]}x{stage.grid[1]} patches"

    def layers(self) -> list[tuple[str, str, int]]:
        """(name, kind, MACs) of the ops the board runs, for the per-layer profile (a patch stage is
        one layer, its MACs the overlap's included). The reference stays the unpatched graph's
        outputs: a patched graph's equal them bit for bit."""
        return [(op.name, op.kind, op.macs(self.graph.tensors)) for op in self.graph.ops]


def patched_board_plan(qgraph: QuantGraph, kernels: KernelTarget, weights: dict | None,
                       base: MemoryPlan, limit: int | None) -> BoardPlan | None:
    """The RAM plan with the first stage in patches (:func:`best_patched`: at least 10% below ``base``'s
    arena within 1.5x more MACs), for the DSP kernels; None when no stage does, and for compressed
    weights (they are keyed by the unpatched ops' names: not carried into a stage's patch ops)."""
    if weights or not kernels.dsp:
        return None
    from pocketml.deploy.c.emit import kernel_needs

    best = best_patched(qgraph, base.arena_bytes, kernels=lambda g: kernel_needs(g, kernels, limit),
                        input_in_arena=True)
    return None if best is None else BoardPlan(best.graph, best.plan, limit, best)


def fused_board_plan(qgraph: QuantGraph, kernels: KernelTarget, weights: dict | None,
                     base: MemoryPlan) -> BoardPlan | None:
    """The RAM plan (:func:`board_plan`) of ``qgraph`` with its PADs and max pools fused into the convs
    (``graph/fuse.py``), for ``kernels`` (the portable ones: the plan of the host's ``c/``, which such a
    board runs), when that lowers ``base``'s arena; None when nothing fuses or it saves nothing, and for
    compressed weights (their encodings are keyed by the unfused graph's ops)."""
    if weights:
        return None
    fused = fuse(qgraph)
    if not fused.fused:
        return None
    plan, limit = board_plan(fused.graph, kernels, weights, "ram")
    return BoardPlan(fused.graph, plan, limit, fused=fused) if plan.arena_bytes < base.arena_bytes else None


@dataclass(frozen=True)
class PlanCandidate:
    """One plan the search considered, on the board: its peak RAM and latency and how they were had."""

    label: str  # "speed", "ram", "ram+portable 25%"
    plan: MemoryPlan
    scratch_limit: int | None
    ram_bytes: int
    instructions: int | None  # QEMU, one inference; None: not run
    latency_ms: float
    within_budget: bool = True
    board: BoardPlan | None = None  # a patched candidate's graph and plan (None: the unpatched graph)

    def to_dict(self) -> dict:
        doc = {"plan": self.label, "ram_bytes": self.ram_bytes, "arena_bytes": self.plan.arena_bytes,
               "instructions": self.instructions, "latency_ms": round(self.latency_ms, 4),
               "portable_layers": len(self.plan.portable_ops), "lean_layers": len(self.plan.lean_ops),
               "within_budget": self.within_budget}
        if self.board is not None and self.board.patched is not None:
            doc["patches"] = self.board.patch_label
            doc["extra_macs"] = self.board.patched.extra_macs
        if self.board is not None and self.board.fused is not None:
            doc["fused"] = self.board.fused_layers
        return doc


@dataclass(frozen=True)
class PlanSearch:
    """The balanced search's outcome: the chosen candidate, every candidate, the budget and the method."""

    chosen: PlanCandidate
    candidates: tuple[PlanCandidate, ...]
    max_latency_ms: float
    budget_source: str  # "--max-latency" | "speed plan + 10%"
    method: str

    def figures(self) -> dict:
        return {"chosen": self.chosen.label, "max_latency_ms": round(self.max_latency_ms, 4),
                "budget": self.budget_source, "latency_method": self.method,
                "candidates": [c.to_dict() for c in self.candidates]}


def board_plan(qgraph: QuantGraph, kernels: KernelTarget, weights: dict | None, memory: str,
               fallback: float = 0.0) -> tuple[MemoryPlan, int | None]:
    """The plan the board's C runs for ``memory`` (``speed`` or ``ram``) and the scratch limit to emit it with."""
    if memory == "speed":
        return plan_memory(qgraph), None
    if not kernels.dsp:
        return plan_memory(qgraph, input_in_arena=True), None
    from pocketml.deploy.c.emit import kernel_needs

    needs = kernel_needs(qgraph, kernels, RAM_SCRATCH_LIMIT, weights)
    return plan_memory(qgraph, input_in_arena=True, kernels=needs, fallback=fallback), RAM_SCRATCH_LIMIT


def ram_board_plan(qgraph: QuantGraph, board: Device, kernels: KernelTarget, weights: dict | None,
                   x_q: np.ndarray) -> tuple[BoardPlan, dict]:
    """``--memory ram`` on a board with the DSP extension: the RAM plan, its first stage in patches when
    :func:`patched_board_plan` finds one; and, then, the figures of that choice (result.json's
    ``deploy-cortexm`` ``patches``): the stage, the MACs it adds, and the unpatched RAM plan's
    arena, RAM and QEMU instructions (one inference) beside which the patched build is measured."""
    plan, limit = board_plan(qgraph, kernels, weights, "ram")
    base = fused_board_plan(qgraph, kernels, weights, plan) or BoardPlan(qgraph, plan, limit)
    patched = patched_board_plan(base.graph, kernels, weights, base.plan, limit)
    if patched is None:
        return base, {}
    ram, instructions, _ = _measure(qgraph, base.plan, limit, board, kernels, weights, x_q, base.graph)
    return replace(patched, fused=base.fused), {
        "patches": patched.patch_label, "extra_macs": patched.patched.extra_macs,
        "unpatched_arena_bytes": base.plan.arena_bytes, "unpatched_ram_bytes": ram,
        "unpatched_instructions": instructions}


def search_plans(qgraph: QuantGraph, board: Device, kernels: KernelTarget, weights: dict | None,
                 x_q: np.ndarray, max_latency_ms: float | None) -> PlanSearch:
    """``--memory balanced``: build and run every candidate (module docstring); the smallest peak RAM
    within the budget wins (ties: the faster). Refuses when no candidate meets ``max_latency_ms``."""
    runs = []
    seen: set[tuple] = set()
    options = [("speed", "speed", 0.0), ("ram", "ram", 0.0)]
    options += [(f"ram+portable {f:.0%}", "ram", f) for f in FALLBACKS] if kernels.dsp else []
    boards: dict[str, BoardPlan] = {}
    for label, memory, fallback in options:
        plan, limit = board_plan(qgraph, kernels, weights, memory, fallback)
        key = (plan.arena_bytes, plan.input_in_arena, plan.portable_ops, plan.lean_ops, plan.moved_bytes, limit)
        if key in seen:
            continue  # a larger share moved no further layer
        seen.add(key)
        runs.append((label, plan, limit, *_measure(qgraph, plan, limit, board, kernels, weights, x_q)))
        if label == "ram":
            base = fused_board_plan(qgraph, kernels, weights, plan)
            if base is not None:
                runs.append(("ram+fuse", base.plan, limit,
                             *_measure(qgraph, base.plan, limit, board, kernels, weights, x_q, base.graph)))
                boards["ram+fuse"] = base
            base = base or BoardPlan(qgraph, plan, limit)
            patched = patched_board_plan(base.graph, kernels, weights, base.plan, limit)
            if patched is not None:
                boards[f"ram+patch ({patched.patch_label})"] = replace(patched, fused=base.fused)
    for label, patched in boards.items():
        if patched.patched is None:
            continue  # ram+fuse: measured above
        limit = patched.scratch_limit
        runs.append((label, patched.plan, limit,
                     *_measure(qgraph, patched.plan, limit, board, kernels, weights, x_q, patched.graph)))
    measured = all(r[4] is not None for r in runs)
    method = (f"QEMU -icount instructions of each plan's board build, one inference; {INSTRUCTIONS_METHOD}"
              if measured else COST_MODEL_METHOD)
    latency = {r[0]: (r[4] / (board.clock_mhz * 1e3) if measured else r[5]) for r in runs}
    if max_latency_ms is None:
        budget, source = latency["speed"] * (1 + BALANCED_SLACK), f"speed plan + {BALANCED_SLACK:.0%}"
    else:
        budget, source = max_latency_ms, "--max-latency"
    candidates = tuple(PlanCandidate(label, plan, limit, ram, instr, latency[label], latency[label] <= budget,
                                     boards.get(label))
                       for label, plan, limit, ram, instr, _ in runs)
    fitting = [c for c in candidates if c.within_budget]
    if not fitting:
        fastest = min(candidates, key=lambda c: c.latency_ms)
        raise PocketMLError(f"no memory plan runs within --max-latency {max_latency_ms:g} ms on {board.name}: the "
                            f"fastest ({fastest.label}) takes {fastest.latency_ms:.3g} ms ({method})",
                            f"raise --max-latency to {fastest.latency_ms:.3g} or more, or pick a faster board")
    chosen = min(fitting, key=lambda c: (c.ram_bytes, c.latency_ms))
    return PlanSearch(chosen, candidates, budget, source, method)


def _measure(qgraph: QuantGraph, plan: MemoryPlan, limit: int | None, board: Device, kernels: KernelTarget,
             weights: dict | None, x_q: np.ndarray, runs: QuantGraph | None = None) -> tuple[int, int | None, float]:
    """(peak RAM bytes, QEMU instructions or None, the cost model's latency ms) of one candidate.
    ``runs``: the graph the C runs when it is not ``qgraph`` (a patched plan's); ``qgraph`` stays the reference."""
    from pocketml.deploy.cortexm import measure_cortexm
    from pocketml.deploy.cortexm.toolchain import core_target, is_cortexm, toolchain_available

    outside = qgraph.output_bytes + (0 if plan.input_in_arena else qgraph.input_bytes)
    outputs = sum(int(np.prod(qgraph.tensors[op.output].shape)) for op in qgraph.ops)
    model_ms = estimate_cost((runs or qgraph).macs(), outputs, board).latency_ms
    if not (is_cortexm(board.core) and core_target(board.core).runs_in_qemu
            and toolchain_available(need_qemu=True)):
        return plan.arena_bytes + outside, None, model_ms
    source = emit_c(runs or qgraph, plan, "candidate", weights=weights, kernels=kernels, scratch_limit=limit)
    with tempfile.TemporaryDirectory(prefix="pocketml-plans-") as tmp:
        for fname, text in source.files.items():
            (Path(tmp) / fname).write_text(text)
        report = measure_cortexm(tmp, board.core, x_q[:1], qgraph.run_flat(x_q[:1]))
    if report.qemu_mismatches:
        raise PocketMLError("a candidate memory plan's build differs from the reference in QEMU",
                            "this is a pocketml bug: please report it; --memory speed or ram avoids the search")
    return report.ram_bytes, report.instructions_per_inference, model_ms
