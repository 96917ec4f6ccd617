"""From a quantized graph to a verified, measured artifact and its Result: what shrink and compile share.

    plan ─▶ emit C ─▶ build + run (host) ─▶ measure (host sections; Cortex-M cross build + QEMU)
         ─▶ verify (the objects in memory: .tflite in TFLite Micro) ─▶ estimate ─▶ energy ─▶ Result
         ─▶ result.json + report.html

Each stage is a small function over typed objects; :func:`deploy` runs them in order, naming each
to ``on_stage`` as it starts (the CLI shows it). Everything is written into ``work``, the staging
folder of an :class:`~pocketml.outputs.OutputFolder`, which becomes OUT only if the whole run
succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.build import decoder_code_bytes, measure_sections
from pocketml.deploy.c.dsp import PORTABLE, KernelTarget, check_optimize, has_dsp
from pocketml.deploy.cortexm import measure_for_device
from pocketml.deploy.verify.bundle import Bundle, save_bundle
from pocketml.deploy.verify.compare import per_output_mismatches, verify_new_artifact
from pocketml.devices import Device, estimate_cost
from pocketml.devices.footprint import Footprint, footprint
from pocketml.energy import CASCADE_RADIOS, budget_for, offload_cascade
from pocketml.errors import PocketMLError
from pocketml.graph.ir import QuantGraph
from pocketml.graph.planner import MemoryPlan, plan_memory
from pocketml.outputs import write_atomic
from pocketml.pipeline.plans import (
    BoardPlan,
    PlanSearch,
    check_memory,
    fused_board_plan,
    ram_board_plan,
    search_plans,
)
from pocketml.result import (
    Accuracy,
    EnergyReport,
    LayerRow,
    MemoryReport,
    Result,
    SizeBytes,
    SourceCheck,
    Stage,
    TensorSpec,
    Verification,
)

if TYPE_CHECKING:
    from pocketml.compress.runner import Compressed

Progress = Callable[[str], None]
HOST_METHOD = ("host gcc -Os object sections (.text+.rodata+.data); constant data exact, "
               "code size of the host ISA (an estimate for the board)")


@dataclass(frozen=True)
class TestRun:
    """The test split as the deployed model sees it: int8 inputs, the reference's packed outputs,
    the labels (None: outputs are not class scores) and the accuracies measured before deployment."""

    x_q: np.ndarray
    ref_out: np.ndarray  # [N, output bytes], every output packed in order (QuantGraph.run_flat)
    labels: np.ndarray | None
    accuracy_float: float | None
    accuracy_int8: float | None


@dataclass(frozen=True)
class HostBuild:
    """The emitted C built and run on the host."""

    plan: MemoryPlan
    c_dir: Path
    const_bytes: int
    outputs: np.ndarray  # [N, output bytes]
    mismatches: int
    per_output: tuple[int, ...]
    footprint: Footprint
    sections: dict[str, int]
    board: BoardPlan  # the graph (fused or not) and plan c/ runs


def deploy(qgraph: QuantGraph, work: Path, board: Device, *, name: str, test: TestRun, size_float: int,
           stages: list[Stage], compressed: Compressed | None = None, report: bool = True,
           source: SourceCheck | None = None, extra_files: dict[str, str] | None = None,
           server: tuple[str, np.ndarray] | None = None, on_stage: Progress | None = None,
           command: str = "shrink", optimize: str | None = None, memory: str = "speed",
           training: tuple[str, int] | None = None, max_latency_ms: float | None = None) -> Result:
    """Run the deployment stages on ``qgraph`` into ``work`` and return the Result (module docstring).

    ``source``: compile's check of the user's .tflite in TFLite Micro (joins ``verify``);
    ``extra_files`` join ``files``; ``server``: (name, class predictions on the test split) of an
    offload target, for the energy cascade (needs labels). ``on_stage`` is told each stage as it starts.
    ``optimize``: ``speed``/``size`` for a board with the DSP extension (None: speed when it has room,
    :func:`choose_kernels`); the portable C in ``c/`` is built and checked on the host either way,
    the board's C (``c-dsp/`` on such a board) in QEMU. ``memory``: ``"speed"`` (the default plan)
    or ``"ram"`` (the smallest-RAM plan, docs/memory.md: the input in the arena, and on a board with
    the DSP extension the kernels' scratch in it and depthwise layers in channel blocks) or
    ``"balanced"`` (the smallest RAM within ``max_latency_ms``: ``pipeline/plans.py``, a stage ``plan-search``).
    ``training``: (trainable, bias_layers) → the on-device training step beside the model
    (``deploy/training.py``; result.json ``training``).
    """
    check_memory(memory, max_latency_ms)
    say = on_stage or (lambda stage: None)
    weights = compressed.weights if compressed else None
    search = None
    if memory == "balanced":
        say("search the memory plans: build each for the board, keep the smallest RAM within the latency budget")
        search = _plan_search(qgraph, name, board, optimize, weights, test.x_q, max_latency_ms, stages)
    say("plan memory, emit C, build and run it on the host")
    t = time.perf_counter()
    host = build_and_run(qgraph, work, name, test.x_q, test.ref_out, board, weights,
                         *_host_plan(qgraph, board, weights, memory, search, training))
    deployed = host.const_bytes + (decoder_code_bytes(host.c_dir, compressed.weights) if compressed else 0)
    acc_c = _accuracy(host.outputs.argmax(1), test.labels)
    stages.append(Stage("deploy-c", time.perf_counter() - t, {
        "const_bytes": host.const_bytes, "arena_bytes": host.plan.arena_bytes, "sections": host.sections,
        "c_mismatches": host.mismatches, "c_mismatches_per_output": list(host.per_output), "accuracy_c": acc_c}))

    say(f"cross-compile for {board.core} and run in QEMU")
    t = time.perf_counter()
    kernels, why = choose_kernels(qgraph, host.plan, name, board, optimize, weights)
    chosen, patches = _board_choice(qgraph, host.plan, kernels, weights, memory, search, board, test.x_q)
    board_dir, on_board = board_c(host.board, work, name, kernels, weights, chosen)
    cortexm = measure_for_device(board_dir, board.core, test.x_q, test.ref_out, layers=on_board.layers(), board=board)
    plan_name = _plan_name(memory, search, on_board)
    fp = host.footprint
    if cortexm is not None:  # None: not a Cortex-M, or no toolchain; else these replace the host figures
        fp = Footprint(cortexm.flash_bytes, cortexm.ram_bytes, cortexm.flash_method)
        stages.append(Stage("deploy-cortexm", time.perf_counter() - t, {
            "kernels": kernels.label, "kernels_reason": why,
            "memory": plan_name, "board_arena_bytes": on_board.plan.arena_bytes,
            "qemu_samples": cortexm.qemu_samples, "qemu_mismatches": cortexm.qemu_mismatches,
            **_patch_figures(patches, cortexm.instructions_per_inference, on_board)}))

    say("verify: the .tflite in TFLite Micro against the reference")
    t = time.perf_counter()
    verification, verify_files = verify_in_memory(work, qgraph, host, test.x_q, source)
    stages.append(Stage("verify", time.perf_counter() - t, {"exact": verification.exact}))

    trained = None
    if training is not None:
        from pocketml.deploy.training import deploy_training

        say("the on-device training step: emit, check against the reference (host, QEMU), measure")
        t = time.perf_counter()
        trained = deploy_training(qgraph, host.c_dir, board.core, name=name, trainable=training[0],
                                  bias_layers=training[1], x_q=test.x_q, labels=test.labels,
                                  inference_ram=cortexm.ram_bytes if cortexm is not None else None,
                                  board_dir=board_dir, kernels=kernels)
        stages.append(Stage("deploy-training", time.perf_counter() - t, {"exact": trained.exact}))
        verify_files = {**verify_files, "train": "c/train.c"}
    fit = fp.fit(board)
    outputs = sum(int(np.prod(qgraph.tensors[op.output].shape)) for op in qgraph.ops)
    instructions = cortexm.instructions_per_inference if cortexm is not None else None
    mix = (cortexm.cycles or {}).get("cycles") if cortexm is not None else None  # the instruction-mix estimate
    result = Result(
        device=board, model=name, n_test=len(test.x_q),
        accuracy=Accuracy(test.accuracy_float, test.accuracy_int8, acc_c),
        size_bytes=SizeBytes(size_float, qgraph.stored_bytes(), deployed),
        arena_bytes=host.plan.arena_bytes, ram_bytes=fp.ram_bytes, flash_bytes=fp.flash_bytes,
        flash_method=fp.method, c_mismatches=host.mismatches, fits=fit.fits, fit_reason=fit.reason,
        input=_spec(qgraph.input_infos[0]), output=_spec(qgraph.output_infos[0]),
        outputs=[_spec(info) for info in qgraph.output_infos],
        macs=qgraph.macs(), cost=estimate_cost(qgraph.macs(), outputs, board, instructions, mix),
        layers=[LayerRow(op.name, op.kind, qgraph.tensors[op.output].shape, op.macs(qgraph.tensors),
                         op.stored_bytes(), 4 * op.param_count()) for op in qgraph.ops],
        memory=MemoryReport.from_plan(on_board.graph, on_board.plan, _plan_label(board_dir, work, plan_name)),
        compression=compressed, stages=stages,
        cortexm=cortexm, verify=verification, command=command, training=trained,
        files={"result": "result.json", "c": "c/", "binary": "c/run_model", **verify_files, **(extra_files or {}),
               **({"c_board": f"{BOARD_C_DIR}/"} if kernels.dsp else {}),
               **({"report": "report.html"} if report else {})},
    )
    say("energy budget and report")
    result.energy = energy_report(result, host.outputs, test.labels, server)
    write_atomic(work / "result.json", result.dumps())
    if report:
        from pocketml.report.html import write_html

        write_html(result, work / "report.html")
    return result


BOARD_C_DIR = "c-dsp"  # the C for a board with the DSP extension (c/ stays the portable, host-run C)


def choose_kernels(qgraph: QuantGraph, plan: MemoryPlan, name: str, board: Device, optimize: str | None,
                   weights: dict | None) -> tuple[KernelTarget, str]:
    """The kernels for ``board`` and why: portable without the DSP extension; else ``optimize``, or
    speed when the speed build's constant data fits in half the board's flash (size otherwise)."""
    check_optimize(optimize)
    if not has_dsp(board):
        return PORTABLE, f"{board.core} has no DSP extension: portable C"
    if optimize is not None:
        return KernelTarget(True, optimize), f"--optimize {optimize}"
    speed = emit_c(qgraph, plan, name, weights=weights, kernels=KernelTarget(True, "speed"))
    if speed.const_bytes <= board.flash_bytes // 2:
        return KernelTarget(True, "speed"), (f"speed: its constants ({speed.const_bytes:,} B) fit in half of "
                                             f"the board's flash ({board.flash_bytes:,} B)")
    return KernelTarget(True, "size"), (f"size: the speed build's constants ({speed.const_bytes:,} B) exceed half "
                                        f"of the board's flash ({board.flash_bytes:,} B)")


def board_c(host: BoardPlan, work: Path, name: str, kernels: KernelTarget,
            weights: dict | None, chosen: BoardPlan) -> tuple[Path, BoardPlan]:
    """The folder of the C the board runs and what it runs: ``c/`` (portable: the ``host`` build's graph,
    fused or not, and plan), or ``c-dsp/`` written now (DSP kernels, checked in QEMU: they need an Arm
    compiler) with the ``chosen`` graph, plan and scratch limit (``pipeline/plans.py``: the RAM
    plan's scratch in the arena, blocked depthwise slabs, lean kernels, the first stage in patches)."""
    if not kernels.dsp:
        return work / "c", host
    folder = work / BOARD_C_DIR
    folder.mkdir()
    source = emit_c(chosen.graph, chosen.plan, name, weights=weights, kernels=kernels,
                    scratch_limit=chosen.scratch_limit)
    for fname, text in source.files.items():
        write_atomic(folder / fname, text)
    return folder, chosen


def build_and_run(qgraph: QuantGraph, work: Path, name: str, x_q: np.ndarray, ref_out: np.ndarray, board: Device,
                  weights: dict | None, memory: str = "speed", fused: BoardPlan | None = None) -> HostBuild:
    """Plan, emit ``work/c``, build it on the host, run the test inputs, compare with the reference, size it.
    ``fused``: the fused graph and its plan to emit instead (a board without the DSP extension runs
    ``c/``: ``_host_plan``); its outputs are compared with ``qgraph``'s reference all the same."""
    plan = fused.plan if fused is not None else plan_memory(qgraph, input_in_arena=memory == "ram")
    source = emit_c(fused.graph if fused is not None else qgraph, plan, name, weights=weights)
    c_dir = work / "c"
    c_dir.mkdir()
    for fname, text in source.files.items():
        write_atomic(c_dir / fname, text)
    c_out = run_host(build_host(c_dir), x_q, qgraph.output_bytes)
    ref = ref_out.reshape(len(ref_out), -1)
    sizes = [info.nbytes for info in qgraph.output_infos]
    sections = measure_sections(c_dir, [f for f in source.files if f.endswith(".c") and f != "main.c"])
    io = qgraph.output_bytes + (0 if plan.input_in_arena else qgraph.input_bytes)  # an input in the arena is in .bss
    fp = footprint(sections, board.core, io_bytes=io, method=HOST_METHOD)
    return HostBuild(plan, c_dir, source.const_bytes, c_out, int(np.sum(np.any(c_out != ref, axis=1))),
                     tuple(per_output_mismatches(c_out, ref_out, sizes)), fp, sections,
                     fused or BoardPlan(qgraph, plan, None))


def _host_plan(qgraph: QuantGraph, board: Device, weights: dict | None, memory: str, search: PlanSearch | None,
               training: tuple[str, int] | None) -> tuple[str, BoardPlan | None]:
    """The host C's memory plan (``speed`` or ``ram``) and, on a board without the DSP extension (it runs
    the host's ``c/``), the fused graph and plan to emit: the RAM plan's when fusion lowers its arena
    (``plans.fused_board_plan``), or balanced's ``ram+fuse`` choice; None otherwise, and with the
    on-device training step (it reads the unfused graph's tensors)."""
    if search is not None:
        memory = "ram" if search.chosen.plan.input_in_arena else memory
    if has_dsp(board) or training is not None or memory != "ram":
        return memory, None
    if search is not None:
        chosen = search.chosen.board
        return memory, chosen if chosen is not None and chosen.fused is not None else None
    return memory, fused_board_plan(qgraph, PORTABLE, weights, plan_memory(qgraph, input_in_arena=True))


def verify_in_memory(work: Path, qgraph: QuantGraph, host: HostBuild, x_q: np.ndarray,
                     source: SourceCheck | None) -> tuple[Verification, dict[str, str]]:
    """Write model.tflite + verify/ (what ``pocketml verify OUT`` rechecks later) and check them now, on the
    objects in memory: nothing is reloaded, re-planned or rebuilt. A graph the .tflite writer cannot
    express is reported in the verification, not raised: the C artifact stands on its own."""
    try:
        files = save_bundle(work, qgraph, x_q)
        report = verify_new_artifact(Bundle(work, qgraph, x_q, work / files["tflite"], host.c_dir, host.plan,
                                            host.outputs, host.footprint))
    except PocketMLError as exc:
        return Verification(None, exc.problem, exc.fix, source), {}
    return Verification(report, source=source), files


def energy_report(result: Result, c_out: np.ndarray, labels: np.ndarray | None,
                  server: tuple[str, np.ndarray] | None) -> EnergyReport:
    """The budget at 1/min on the board's radio, and the offloading cascades when there is a server model;
    a budget the board cannot meet is reported, never fatal to the deployment."""
    profile = result.profile()
    try:
        budget = budget_for(profile)
    except PocketMLError as exc:
        return EnergyReport(None, error=exc.problem)
    cascades = ()
    if server is not None and labels is not None:
        logits = result.output.scale * (c_out.astype(np.float64) - result.output.zero_point)
        radios = dict.fromkeys((budget.radio, *CASCADE_RADIOS))  # the board's own first
        cascades = tuple(offload_cascade(profile, logits, labels, server[1], server=server[0], radio=r)
                         for r in radios)
    return EnergyReport(budget, cascades)


def _board_choice(qgraph: QuantGraph, host_plan: MemoryPlan, kernels: KernelTarget, weights: dict | None,
                  memory: str, search: PlanSearch | None, board: Device, x_q: np.ndarray) -> tuple[BoardPlan, dict]:
    """What the board's C runs: the search's choice, the host's plan (speed, or a board without the
    DSP extension, whose C is the host's), or the RAM plan for the DSP kernels, its first stage in
    patches when that saves RAM (``plans.ram_board_plan``); and a patched choice's figures ({} else)."""
    if search is not None:
        chosen = search.chosen
        if chosen.board is None:
            return BoardPlan(qgraph, chosen.plan, chosen.scratch_limit), {}
        if chosen.board.patched is None:  # ram+fuse
            return chosen.board, {}
        ram = next(c for c in search.candidates if c.label == "ram")  # the plan the patched one started from
        return chosen.board, {"patches": chosen.board.patch_label, "extra_macs": chosen.board.patched.extra_macs,
                              "unpatched_arena_bytes": ram.plan.arena_bytes, "unpatched_ram_bytes": ram.ram_bytes,
                              "unpatched_instructions": ram.instructions}
    if memory == "speed" or not kernels.dsp:
        return BoardPlan(qgraph, host_plan, None), {}
    return ram_board_plan(qgraph, board, kernels, weights, x_q)


def _patch_figures(patches: dict, instructions: int | None, on_board: BoardPlan) -> dict:
    """The deploy-cortexm stage's ``fused``: [pad, conv] and [conv, pool] of every fusion (graph/fuse.py); and
    ``patches``: the stage run in patches, the MACs and the instructions it adds over the unpatched
    RAM plan (both QEMU, one inference), the unpatched plan's RAM."""
    fused = {"fused": on_board.fused_layers} if on_board.fused is not None else {}
    if not patches:
        return fused
    before = patches.get("unpatched_instructions")
    extra = None if before is None or instructions is None else instructions - before
    return {**fused, "patches": {**patches, "extra_instructions": extra}}


def _plan_search(qgraph: QuantGraph, name: str, board: Device, optimize: str | None, weights: dict | None,
                 x_q: np.ndarray, max_latency_ms: float | None, stages: list[Stage]) -> PlanSearch:
    """``--memory balanced``: the plan search for the board's kernels, recorded as the stage ``plan-search``."""
    t = time.perf_counter()
    kernels = choose_kernels(qgraph, plan_memory(qgraph), name, board, optimize, weights)[0]
    search = search_plans(qgraph, board, kernels, weights, x_q, max_latency_ms)
    stages.append(Stage("plan-search", time.perf_counter() - t, search.figures()))
    return search


def _plan_name(memory: str, search: PlanSearch | None, on_board: BoardPlan) -> str:
    """The plan the board runs: ``speed``, ``ram``, ``ram+fuse`` (pads and pools fused into convs),
    ``ram+patch (stage of N ops, RxC patches)``, ``balanced: …``."""
    if search is not None:
        return f"balanced: {search.chosen.label}"
    name = f"{memory}+fuse" if on_board.fused is not None else memory
    return f"{name}+patch ({on_board.patch_label})" if on_board.patched is not None else name


def _plan_label(board_dir: Path, work: Path, plan_name: str) -> str:
    """Which C runs the plan the report draws, and which plan it is."""
    kind = "the board's DSP C" if board_dir != work / "c" else "the board's C"
    where = f"{board_dir.relative_to(work)}/ ({kind})"
    return f"{where}, memory plan {plan_name}"


def _accuracy(predicted: np.ndarray, labels: np.ndarray | None) -> float | None:
    """Fraction of argmax predictions equal to the labels; None when there are no labels
    (a model whose output is not class scores, e.g. an autoencoder)."""
    return None if labels is None else float(np.mean(predicted == labels))


def _spec(info) -> TensorSpec:
    return TensorSpec(info.shape, info.quant.scale, info.quant.zero_point)
