"""On-device training figures for BENCHMARKS.md: the C training step against its references, and its RAM.

    nice .venv/bin/python bench/ondevice_train.py [--models digits-cnn,ds-cnn] [--modes last,bias,last+bias]
                                                  [--bias-layers 2] [--batch 16] [--lr 0.01] [--no-qemu]

For each built-in model (trained on its built-in data, seed 0) and each trainable mode:
plan the training step, emit its C, then train on the *whole* test split in order (batch-1 SGD,
the state exported after every ``--batch`` samples) three ways and compare:

* the C on the host (gcc -O2 -Werror) and the C cross-compiled for the Cortex-M4F in QEMU
  (mps2-an386): every batch's exported state must equal the numpy reference bit for bit;
* PyTorch autograd (graph/training_torch.py) from the reference's state before every step:
  the largest difference of the float32 classifier, and of the int32 bias steps before rounding.

Then the RAM of the training program on the Cortex-M4F (arm-none-eabi-size: .data + .bss + stack +
input buffer) against the inference model's RAM measured the same way, and instructions per train
step against per inference (QEMU -icount: instruction counts, not cycles). Last, the same on the
DSP kernels a Cortex-M4F board runs (built for speed, -O2): the training step with its frozen
layers on the DSP kernels (the layers the backward walks stay portable), checked in QEMU on every
batch, against the DSP inference model (``--no-dsp`` skips it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pocketml.compress.quantize import quantize
from pocketml.deploy.c import emit_c
from pocketml.deploy.c.dsp import KernelTarget
from pocketml.deploy.c.train import emit_train
from pocketml.deploy.cortexm import measure_cortexm
from pocketml.deploy.cortexm.train import measure_train_cortexm
from pocketml.deploy.training import batch_commands, check_training, compare
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory
from pocketml.graph.training import plan_training
from pocketml.graph.training_torch import torch_step
from pocketml.models import get_builtin


def torch_gap(plan, x_q, labels, lr: float) -> tuple[float, float, float]:
    """Over the whole sequence: max |reference − torch| of the classifier W and b (from the same state
    each step), and the largest |int32 step − real step| of the biases (rounding: <= 0.5)."""
    state = plan.initial_state()
    w_gap = b_gap = bias_gap = 0.0
    for xi, yi in zip(x_q, labels, strict=True):
        w, b, steps = torch_step(plan, state, xi, int(yi), lr)
        new = plan.step(state, xi, int(yi), lr)
        w_gap = max(w_gap, float(np.max(np.abs(new.head_w - w))))
        b_gap = max(b_gap, float(np.max(np.abs(new.head_b - b))))
        for after, before, real in zip(new.biases, state.biases, steps, strict=True):
            bias_gap = max(bias_gap, float(np.max(np.abs((after.astype(np.int64) - before) - real))))
        state = new
    return w_gap, b_gap, bias_gap


def bench_model(name: str, modes: list[str], bias_layers: int, batch: int, lr: float, qemu: bool,
                tmp: Path, dsp: bool = True) -> list[str]:
    t = time.perf_counter()
    model, data = get_builtin(name).trained(seed=0, progress=False)
    graph = quantize(capture(model, torch.as_tensor(data.train.x[:1]), name), data.train.x)
    x_q, labels = graph.quantize_input(data.test.x), data.test.y
    c_dir = tmp / name
    c_dir.mkdir()
    for fname, text in emit_c(graph, plan_memory(graph), name).files.items():
        (c_dir / fname).write_text(text)
    inference = measure_cortexm(c_dir, "cortex-m4f", x_q[:1] if qemu else None, graph.run(x_q[:1]))
    rows, dsp_rows = [], []
    for mode in modes:
        plan = plan_training(graph, mode, bias_layers)
        source = emit_train(plan, name)
        for fname, text in source.files.items():
            (c_dir / fname).write_text(text)
        host = check_training(plan, source, c_dir, x_q, labels, lr=lr, batch=batch)
        qemu_check, report = None, None
        cmd, expected = batch_commands(plan, x_q, labels, lr, batch)
        report, run = measure_train_cortexm(c_dir, source, "cortex-m4f", cmd if qemu else None)
        if run is not None:
            qemu_check = compare(run.replies, expected, len(x_q), "qemu")
        gaps = torch_gap(plan, x_q, labels, lr)
        m = plan.memory.to_dict()
        rows.append((mode, plan, host, qemu_check, report, gaps, m))
        if dsp and qemu:
            dsp_rows.append((mode, *dsp_build(plan, name, graph, x_q, labels, lr, batch, tmp / f"{name}-dsp-{mode}")))
    lines = [f"### {name}: {len(x_q)} test samples in batches of {batch}, lr {lr}, "
             f"{graph.macs():,} MACs per inference ({time.perf_counter() - t:.0f} s)\n",
             "| trainable | trained | C host = reference | C QEMU M4F = reference | PyTorch max abs diff W / b | "
             "bias step vs PyTorch (units) |", "|---|---|---|---|---|---|"]
    for mode, plan, host, qc, _, gaps, _ in rows:
        what = (f"W {plan.head.classes}x{plan.head.depth}, b" if plan.head.train_weight else "b") + (
            f" + biases of {', '.join(b.name for b in plan.bias_layers)}" if plan.bias_layers else "")
        lines.append(f"| {mode} | {what} | "
                     f"{host.batches - host.mismatching_batches}/{host.batches} batches bit-exact | "
                     + (f"{qc.batches - qc.mismatching_batches}/{qc.batches} batches bit-exact" if qc else "not run")
                     + f" | {gaps[0]:.2e} / {gaps[1]:.2e} | "
                     + (f"max {gaps[2]:.3f} (rounding: 0.5 + float32 error)" if plan.bias_layers else "-") + " |")
    inf_ram, inf_flash = inference.ram_bytes, inference.flash_bytes
    lines += ["", f"RAM and flash on the Cortex-M4F (arm-none-eabi-gcc -Os, linked alone), inference model "
              f"(model.c): RAM {inf_ram:,} B, flash {inf_flash:,} B, "
              f"{inference.instructions_per_inference or 0:,} instructions per inference:\n",
              "| trainable | training RAM B | x inference RAM | arena B (forward alone) | kept int8 B | gradients B | "
              "trainable part in RAM B | flash B | instructions per step |",
              "|---|---|---|---|---|---|---|---|---|"]
    for mode, _, _, _, r, _, m in rows:
        lines.append(f"| {mode} | {r.ram_bytes:,} | {r.ram_bytes / inf_ram:.2f}x | {m['arena_bytes']:,} "
                     f"({m['forward_arena_bytes']:,}) | {m['kept_activation_bytes']:,} | {m['gradient_bytes']:,} | "
                     f"{m['trainable_bytes']:,} | {r.flash_bytes:,} | "
                     f"{'-' if r.instructions_per_step is None else f'{r.instructions_per_step:,}'} |")
    if dsp_rows:
        lines += dsp_table(name, graph, x_q, dsp_rows, inference, tmp)
    return lines


SPEED = KernelTarget(True, "speed")


def dsp_build(plan, name, graph, x_q, labels, lr, batch, folder: Path):
    """The training step with its frozen layers on the DSP kernels, in QEMU on every batch."""
    folder.mkdir()
    source = emit_train(plan, name, kernels=SPEED)
    for fname, text in source.files.items():
        (folder / fname).write_text(text)
    cmd, expected = batch_commands(plan, x_q, labels, lr, batch)
    report, run = measure_train_cortexm(folder, source, "cortex-m4f", cmd)
    return source.kernels, compare(run.replies, expected, len(x_q), "qemu"), report


def dsp_table(name, graph, x_q, dsp_rows, portable_inference, tmp: Path) -> list[str]:
    folder = tmp / f"{name}-dsp-inference"
    folder.mkdir()
    for fname, text in emit_c(graph, plan_memory(graph), name, kernels=SPEED).files.items():
        (folder / fname).write_text(text)
    inf = measure_cortexm(folder, "cortex-m4f", x_q[:1], graph.run(x_q[:1]))
    ipi = inf.instructions_per_inference or 0
    lines = ["", f"On the board's DSP kernels (Cortex-M4F, dsp-speed, -O2): inference model RAM {inf.ram_bytes:,} B, "
             f"flash {inf.flash_bytes:,} B, {ipi:,} instructions per inference "
             f"({(portable_inference.instructions_per_inference or 0) / max(ipi, 1):.2f}x fewer than portable); "
             "the training step's frozen layers on the DSP kernels, the layers the backward walks portable:\n",
             "| trainable | frozen layers' kernels | C QEMU M4F = reference | training RAM B | x inference RAM | "
             "flash B | instructions per step | x inference instructions |", "|---|---|---|---|---|---|---|---|"]
    for mode, kernels, qc, r in dsp_rows:
        steps = r.instructions_per_step or 0
        lines.append(f"| {mode} | {kernels} | {qc.batches - qc.mismatching_batches}/{qc.batches} batches bit-exact | "
                     f"{r.ram_bytes:,} | {r.ram_bytes / inf.ram_bytes:.2f}x | {r.flash_bytes:,} | {steps:,} | "
                     f"{steps / max(ipi, 1):.2f}x |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="digits-cnn,ds-cnn")
    ap.add_argument("--modes", default="last,bias,last+bias")
    ap.add_argument("--bias-layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--no-dsp", action="store_true", help="skip the DSP-kernel build of the training step")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-train-") as tmp:
        for name in args.models.split(","):
            print("\n".join(bench_model(name, args.modes.split(","), args.bias_layers, args.batch, args.lr,
                                        not args.no_qemu, Path(tmp), not args.no_dsp)), flush=True)
            print()


if __name__ == "__main__":
    main()
