"""Peak RAM against TFLite Micro's smallest working arena, speed plan vs RAM plan, side by side (issue 20).

    nice .venv/bin/python bench/ram.py [--tiny GIT_DIR] [--samples 3] [--no-families] [--plot OUT.svg]
                                       [--board nucleo_l432kc]

Models: the four MLPerf Tiny int8 reference models, read (``git show``) from GIT_DIR, a clone of
github.com/mlcommons/tiny (default: the mirror at /work/.mirror/mlcommons+tiny/repo; nothing is
downloaded, nothing committed); and pocketml's built-in families (their architecture, untrained
weights, int8-calibrated on 64 samples of their synthetic data, written as .tflite by pocketml's
writer): RAM and instruction counts do not depend on the weights' values.

Per model, in one run:

* TFLite Micro's smallest working arena for the .tflite, bisected to the byte in child processes
  (``smallest_tflm_arena``; it holds the input and output tensors and TFLM's run-time structures);
* seven memory plans of the same graph (``plan_memory``): ``none`` (no in-place op, the greedy
  placement alone), ``speed`` (in-place layers, no memmove: ``moves=False``), ``moves+input``
  (in-place layers, recentring memmoves, the input inside the arena: ``input_in_arena=True``),
  ``scratch`` (also the DSP kernels' scratch inside the arena and their own overlap lags,
  ``kernels=kernel_needs(...)``, every kernel with its scratch: ``lean=False``), ``ram`` (also the
  depthwise slabs kept under 1 KiB by channel blocks, ``scratch_limit=1024``, and the lean
  fully connected kernel, no scratch, where its widened input would raise the peak) and
  ``ram+portable`` (also the portable kernel where its lack of scratch lowers the peak by 1% or
  more, on at most a quarter of the MACs, ``fallback=0.25``), ``ram+fuse`` (``ram`` with every
  explicit PAD fused into the conv reading it and every max pool into the epilogue of the conv
  before it, ``graph/fuse.py``, where that lowers the arena: the padded map and the conv's map
  never exist; the cell names the fused layers) and ``ram+patch`` (``ram`` with the
  first stage run in spatial patches, MCUNetV2: the smallest arena of every stage cut and patch
  grid, if 10% under ``ram``'s, whose recomputed overlap adds at most 1.5x the model's MACs,
  ``graph/patch.py: best_patched``; the cell names the stage, the grid and the MACs added);
* peak RAM of each = arena + the DSP kernels' scratch buffers outside it (parsed from the emitted
  model.c) + the input and output buffers outside it; the ratio to TFLite Micro's arena;
* each plan's C with the DSP kernels built for speed, cross-compiled for the Cortex-M4 and run in
  QEMU (``-icount``) on ``--samples`` uniform random int8 inputs (seed 0): instructions per
  inference, the measured stack, and mismatches against the numpy reference; TFLite Micro runs the
  source file on the same inputs (mismatches against the reference).

Prints a markdown table; ``--plot`` draws peak RAM against instructions for every plan of VWW.
``--board``: MLPerf VWW compiled for that board by ``pocketml compile`` (``compile_tflite``) with
``--memory speed``, ``ram`` and ``balanced``: the board build's RAM and flash by the one fit rule
(``devices/footprint.py``) and whether it fits.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketml.deploy.c import emit_c
from pocketml.deploy.c.dsp import KernelTarget
from pocketml.deploy.c.emit import kernel_needs
from pocketml.deploy.cortexm import build_cortexm, run_qemu
from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.tflite.runtimes import smallest_tflm_arena
from pocketml.graph.fuse import fuse
from pocketml.graph.patch import best_patched
from pocketml.graph.planner import plan_memory
from pocketml.pipeline.from_tflite import random_inputs, run_source_in_tflm, source_inputs

TINY = Path("/work/.mirror/mlcommons+tiny/repo")
MLPERF = {
    "ad01 (MLPerf AD)": "benchmark/training/anomaly_detection/trained_models/ad01_int8.tflite",
    "kws_ref_model (MLPerf KWS)": "benchmark/training/keyword_spotting/trained_models/kws_ref_model.tflite",
    "pretrainedResnet_quant (MLPerf IC)": "benchmark/training/image_classification/trained_models/"
                                          "pretrainedResnet_quant.tflite",
    "vww_96_int8 (MLPerf VWW)": "benchmark/training/visual_wake_words/trained_models/vww_96_int8.tflite",
}
FAMILIES = ("digits-cnn", "ds-cnn", "resnet8", "fc-autoencoder")
PLANS = {"none": {"in_place": False, "moves": False}, "speed": {"moves": False},
         "moves+input": {"input_in_arena": True},
         "scratch": {"input_in_arena": True, "scratch": True, "lean": False},
         "ram": {"input_in_arena": True, "scratch": True, "scratch_limit": 1024},
         "ram+portable": {"input_in_arena": True, "scratch": True, "scratch_limit": 1024, "fallback": 0.25},
         "ram+fuse": {"input_in_arena": True, "scratch": True, "scratch_limit": 1024, "fuse": True},
         "ram+patch": {"input_in_arena": True, "scratch": True, "scratch_limit": 1024, "patch": True}}


@dataclass(frozen=True)
class PlanRun:
    plan: str
    arena: int
    scratch: int
    outside: int  # input and output bytes outside the arena
    moved: int  # bytes the recentring memmoves copy per inference
    portable: int  # layers run with the portable kernel to save their scratch
    at_peak: str  # the op at the peak step and the regions live then
    instructions: int
    stack: int
    mismatches: int
    lean: int = 0  # fully connected layers run by the scratch-free kernel
    patches: str = ""  # ram+patch: the stage run in patches and the MACs its overlap adds; ram+fuse: the fused layers

    @property
    def peak(self) -> int:
        return self.arena + self.scratch + self.outside


def mlperf_files(git_dir: Path, folder: Path) -> list[tuple[str, Path]]:
    files = []
    for name, path in MLPERF.items():
        out = folder / Path(path).name
        out.write_bytes(subprocess.run(["git", f"--git-dir={git_dir}", "show", f"HEAD:{path}"],
                                       capture_output=True, check=True).stdout)
        files.append((name, out))
    return files


def family_files(folder: Path) -> list[tuple[str, Path]]:
    import torch

    from pocketml.compress.quantize import quantize
    from pocketml.deploy.tflite.writer import write_tflite
    from pocketml.graph.capture import capture
    from pocketml.models import get_builtin

    files = []
    for name in FAMILIES:
        spec = get_builtin(name)
        torch.manual_seed(0)
        model = spec.build().eval()
        x = spec.dataset().train.x[:64]
        graph = quantize(capture(model, torch.as_tensor(x[:1]), name.replace("-", "_")), x)
        out = folder / f"{name}.tflite"
        out.write_bytes(write_tflite(graph))
        files.append((f"{name} (pocketml family)", out))
    return files


def scratch_bytes(model_c: str) -> int:
    """Bytes of the static buffers the DSP kernels (and weight decoders) share, from model.c."""
    sizes = {"int32_t": 4, "int8_t": 1, "int16_t": 2}
    return sum(sizes[t] * int(n) for t, n in re.findall(r"static (int32_t|int8_t|int16_t) \w+_(?:dsp_scratch|dsp_patch|"
                                                         r"weight_scratch)\[(\d+)\]", model_c))


def _names(tensors: tuple[str, ...]) -> str:
    """A region's tensors, short: the first two (cut to 24 characters) and how many more."""
    shown = "/".join(t[:24] for t in tensors[:2])
    return shown + (f" (+{len(tensors) - 2} in turn)" if len(tensors) > 2 else "")


def run_plan(graph, name: str, x: np.ndarray, ref: np.ndarray, work: Path) -> PlanRun:
    target = KernelTarget(True, "speed")
    options = dict(PLANS[name])
    limit = options.pop("scratch_limit", None)
    if options.pop("scratch", False):
        options["kernels"] = kernel_needs(graph, target, limit)
    patch, fusing = options.pop("patch", False), options.pop("fuse", False)
    plan = plan_memory(graph, **options)
    patches = ""
    if fusing:  # pads and max pools fused into the convs where that lowers the arena (the reference stays unfused)
        fused = fuse(graph)
        patches = "nothing to fuse"
        if fused.fused:
            others = {k: v for k, v in options.items() if k != "kernels"}
            fplan = plan_memory(fused.graph, kernels=kernel_needs(fused.graph, target, limit), **others)
            patches = f"fused {fused.label}" if fplan.arena_bytes < plan.arena_bytes else "fusion saves nothing"
            if fplan.arena_bytes < plan.arena_bytes:
                graph, plan = fused.graph, fplan
    if patch:  # the first stage in patches where that lowers the arena by 10% (within 1.5x more MACs)
        others = {k: v for k, v in options.items() if k != "kernels"}
        best = best_patched(graph, plan.arena_bytes, kernels=lambda g: kernel_needs(g, target, limit), **others)
        patches = "no patch plan saves 10% within 1.5x more MACs"
        if best is not None:
            patches = f"{best.label}, {best.extra_macs / graph.macs():+.0%} MACs"
            graph, plan = best.graph, best.plan
    source = emit_c(graph, plan, "model", kernels=target, scratch_limit=limit)
    c_dir = work / name / "c"
    c_dir.mkdir(parents=True, exist_ok=True)
    for fname, text in source.files.items():
        (c_dir / fname).write_text(text)
    build = build_cortexm(c_dir, "cortex-m4f", work / name / "build")
    run = run_qemu(build, x)
    outside = graph.output_bytes + (0 if plan.input_in_arena else graph.input_bytes)
    step, live = plan.live_at_peak()
    at_peak = (f"{graph.ops[plan.order[step]].name}: "
               + ", ".join(f"{_names(b.tensors)} {b.size:,} B" for b in live))
    return PlanRun(name, plan.arena_bytes, scratch_bytes(source.files["model.c"]), outside, plan.moved_bytes,
                   len(plan.portable_ops), at_peak, run.instructions_per_inference, int(run.stack_bytes.max()),
                   int((run.outputs != ref).any(axis=1).sum()), len(plan.lean_ops), patches)


def bench_model(label: str, path: Path, samples: int, work: Path) -> tuple[str, int, int, list[PlanRun], float]:
    t = time.perf_counter()
    imp = read_tflite(path)
    graph = imp.graph
    x = random_inputs(imp, samples, seed=0)
    ref = graph.run_flat(x)
    tflm = smallest_tflm_arena(path, source_inputs(imp, x[:1])).smallest_bytes
    tflm_bad = int((run_source_in_tflm(path, imp, x) != ref).any(axis=1).sum())
    runs = [run_plan(graph, name, x, ref, work / path.stem) for name in PLANS]
    return label, tflm, tflm_bad, runs, time.perf_counter() - t


def row(label: str, tflm: int, tflm_bad: int, runs: list[PlanRun], seconds: float) -> str:
    speed = next(r for r in runs if r.plan == "speed")
    cells = [label, f"{tflm:,}"]
    for r in runs:
        cells.append(f"{r.peak:,} = {r.arena:,}+{r.scratch:,}+{r.outside:,} (**{r.peak / tflm:.2f}**); "
                     f"{r.instructions:,} ({(r.instructions - speed.instructions) / speed.instructions:+.1%})"
                     + (f"; {r.portable} portable" if r.portable else "") + (f"; {r.lean} lean" if r.lean else "")
                     + (f"; {r.patches}" if r.patches else ""))
    cells += [" / ".join(f"{r.stack}" for r in runs),
              " / ".join(str(r.mismatches) for r in runs) + f"; TFLM {tflm_bad}", f"{seconds:.0f}"]
    return "| " + " | ".join(cells) + " |"


def plot(label: str, runs: list[PlanRun], tflm: int, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in runs:
        ax.scatter(r.instructions / 1e6, r.peak / 1024, s=40)
        ax.annotate(f"{r.plan} ({r.peak / tflm:.2f}x TFLM)", (r.instructions / 1e6, r.peak / 1024), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.axhline(tflm / 1024, color="k", ls="--", lw=1, label=f"TFLite Micro smallest arena {tflm / 1024:.1f} KiB")
    ax.axhline(0.4 * tflm / 1024, color="r", ls=":", lw=1, label="0.4x TFLite Micro")
    ax.set_xlabel("instructions per inference (millions, QEMU Cortex-M4, DSP kernels for speed)")
    ax.set_ylabel("peak RAM (KiB)")
    ax.set_ylim(0, tflm / 1024 * 1.1)
    ax.set_title(f"{label}: the memory plans considered")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out)


def board_fit(path: Path, board: str, work: Path) -> list[str]:
    """VWW compiled for ``board`` with each memory plan: RAM and flash of the board build, the fit verdict."""
    from pocketml.pipeline.from_tflite import compile_tflite

    lines = [f"\n| `pocketml compile {path.name} --device {board} --memory M --samples 2` | kernels | board arena B "
             "| RAM B (fit rule) | flash B | QEMU instructions | QEMU mismatches | fits |",
             "|---|---|---|---|---|---|---|---|"]
    for memory in ("speed", "ram", "balanced"):
        r = compile_tflite(path, board, work / f"board-{memory}", samples=2, report=False, memory=memory)
        stage = next(s for s in r.stages if s.name == "deploy-cortexm").figures
        lines.append(f"| {stage['memory']} | {stage['kernels']} | {stage['board_arena_bytes']:,} | {r.ram_bytes:,} "
                     f"| {r.flash_bytes:,} | {r.cortexm.instructions_per_inference:,} | {stage['qemu_mismatches']} "
                     f"| {r.fit_reason} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=Path, default=TINY, help="git dir of a mlcommons/tiny clone")
    parser.add_argument("--samples", type=int, default=3, help="random int8 inputs per model (seed 0)")
    parser.add_argument("--no-families", action="store_true", help="only the MLPerf Tiny files")
    parser.add_argument("--plot", type=Path, default=None, help="write VWW's peak RAM vs instructions plot here")
    parser.add_argument("--fallback", type=float, default=0.25,
                        help="ram+portable: the largest share of MACs moved to the portable kernels")
    parser.add_argument("--only", default=None, help="only the models whose label contains this text")
    parser.add_argument("--board", default=None, help="also compile MLPerf VWW for this board with each --memory")
    args = parser.parse_args()
    PLANS["ram+portable"]["fallback"] = args.fallback
    cell = "peak B = arena+scratch+I/O (/ TFLM); M4 instructions (vs speed)"
    print("| model | TFLM smallest arena B | " + " | ".join(f"{p}: {cell}" for p in PLANS)
          + " | stack B per plan | QEMU mismatches per plan; TFLM | s |")
    print("|" + "---|" * (5 + len(PLANS)), flush=True)
    peaks = []
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-ram-") as tmp:
        folder = Path(tmp)
        models = mlperf_files(args.tiny, folder) + ([] if args.no_families else family_files(folder))
        for label, path in models:
            if args.only is not None and args.only not in label:
                continue
            result = bench_model(label, path, args.samples, folder)
            print(row(*result), flush=True)
            peaks += [(label, r) for r in result[3] if r.plan in ("speed", "ram", "ram+fuse", "ram+patch")]
            if args.plot is not None and "VWW" in label:
                plot(label, result[3], result[1], args.plot)
        vww = folder / Path(MLPERF["vww_96_int8 (MLPerf VWW)"]).name
        board = board_fit(vww, args.board, folder) if args.board else []
    print("\n| model | plan | peak step: the regions live there (arena offsets and sizes from the plan) |")
    print("|---|---|---|")
    for label, r in peaks:
        print(f"| {label} | {r.plan} | {r.at_peak} |")
    print("\n".join(board))


if __name__ == "__main__":
    main()
