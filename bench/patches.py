"""The first stage in patches (MCUNetV2, issue 20): every patch plan on the RAM/instructions front.

    nice .venv/bin/python bench/patches.py [--tiny GIT_DIR] [--samples 2] [--max-patches 64]

MLPerf Tiny's ResNet-8 (``pretrainedResnet_quant.tflite``, read with ``git show`` from GIT_DIR, a
clone of github.com/mlcommons/tiny; default the local mirror; nothing downloaded or committed).
In one run: TFLite Micro's smallest working arena for the file (bisected in child processes); the
``ram`` plan of ``bench/ram.py`` (input and DSP scratch in the arena, depthwise slabs under 1 KiB);
then every patched plan (``graph/patch.py: patch_plans``: each stage cut, each grid of 2 to
``--max-patches`` patches dividing the stage's output, the same ``ram`` options) whose arena is
below the ``ram`` plan's and whose (arena, MACs) no other patched plan beats on both. For each:
its C with the DSP kernels built for speed, run in QEMU (Cortex-M4, ``-icount``) on ``--samples``
random int8 inputs (seed 0): peak RAM (arena + the output bytes outside it; the input is in the
arena), its ratio to TFLite Micro's arena, MACs and instructions per inference against the
``ram`` plan's, and mismatches against the numpy reference.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from pocketml.deploy.c import emit_c
from pocketml.deploy.c.dsp import KernelTarget
from pocketml.deploy.c.emit import kernel_needs
from pocketml.deploy.cortexm import build_cortexm, run_qemu
from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.tflite.runtimes import smallest_tflm_arena
from pocketml.graph.patch import patch_plans
from pocketml.graph.planner import plan_memory
from pocketml.pipeline.from_tflite import random_inputs, source_inputs

TINY = Path("/work/.mirror/mlcommons+tiny/repo")
RESNET = "benchmark/training/image_classification/trained_models/pretrainedResnet_quant.tflite"
LIMIT = 1024  # the ram plan's depthwise slab limit (bench/ram.py)


def qemu_run(graph, plan, x, work: Path, target: KernelTarget):
    folder = work / "c"
    folder.mkdir(parents=True)
    for fname, text in emit_c(graph, plan, "model", kernels=target, scratch_limit=LIMIT).files.items():
        (folder / fname).write_text(text)
    return run_qemu(build_cortexm(folder, "cortex-m4f", work / "build"), x)


def front(plans, below: int):
    """The plans under ``below`` bytes of arena that no other plan beats on both the arena and the MACs,
    one (the fewest patches) for each (arena, MACs), by arena."""
    unique = {}
    for p in sorted(plans, key=lambda p: p.stage.patches):
        if p.plan.arena_bytes < below:
            unique.setdefault((p.plan.arena_bytes, p.macs), p)
    keep = [p for key, p in unique.items() if not any(a <= key[0] and m <= key[1] and (a, m) != key for a, m in unique)]
    return sorted(keep, key=lambda p: (p.plan.arena_bytes, p.macs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=Path, default=TINY, help="git dir of a mlcommons/tiny clone")
    parser.add_argument("--samples", type=int, default=2, help="random int8 inputs (seed 0)")
    parser.add_argument("--max-patches", type=int, default=64, help="the largest patch grid tried")
    args = parser.parse_args()
    target = KernelTarget(True, "speed")
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-patches-") as tmp:
        work = Path(tmp)
        path = work / "resnet.tflite"
        path.write_bytes(subprocess.run(["git", f"--git-dir={args.tiny}", "show", f"HEAD:{RESNET}"],
                                        capture_output=True, check=True).stdout)
        imp = read_tflite(path)
        graph = imp.graph
        x = random_inputs(imp, args.samples, seed=0)
        ref = graph.run_flat(x)
        tflm = smallest_tflm_arena(path, source_inputs(imp, x[:1])).smallest_bytes
        needs = lambda g: kernel_needs(g, target, LIMIT)  # noqa: E731
        ram = plan_memory(graph, input_in_arena=True, kernels=needs(graph))
        base = qemu_run(graph, ram, x, work / "ram", target)
        plans = patch_plans(graph, kernels=needs, max_patches=args.max_patches, input_in_arena=True)
        print(f"MLPerf Tiny ResNet-8: TFLite Micro smallest arena {tflm:,} B; {graph.macs():,} MACs; "
              f"{len(plans)} patched plans, {len(front(plans, ram.arena_bytes))} below the ram plan's arena "
              "on the (arena, MACs) front\n")
        print("| plan | peak B (/ TFLM) | MACs (vs ram) | M4 instructions (vs ram) | stack B | QEMU mismatches |")
        print("|---|---|---|---|---|---|")
        out = graph.output_bytes
        print(f"| ram (no patches) | {ram.arena_bytes + out:,} (**{(ram.arena_bytes + out) / tflm:.2f}**) | "
              f"{graph.macs():,} | {base.instructions_per_inference:,} | {int(base.stack_bytes.max())} | "
              f"{int((base.outputs != ref).any(axis=1).sum())} |", flush=True)
        for k, p in enumerate(front(plans, ram.arena_bytes)):
            run = qemu_run(p.graph, p.plan, x, work / f"p{k}", target)
            peak = p.plan.arena_bytes + out
            print(f"| {p.label} | {peak:,} (**{peak / tflm:.2f}**) | {p.macs:,} ({p.extra_macs / graph.macs():+.0%}) "
                  f"| {run.instructions_per_inference:,} "
                  f"({run.instructions_per_inference / base.instructions_per_inference - 1:+.0%}) | "
                  f"{int(run.stack_bytes.max())} | {int((run.outputs != ref).any(axis=1).sum())} |", flush=True)


if __name__ == "__main__":
    main()
