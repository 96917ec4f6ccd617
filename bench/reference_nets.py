"""The networks people deploy, full size, shrunk for a board and verified (issue 21).

    .venv/bin/python bench/reference_nets.py [--device portenta_h7] [--samples 8] [--seed 0]

MobileNetV3-small (224x224, width 1.0, 1000 classes), SqueezeNet 1.1 (224x224), a 1-D CNN
(3x128 signal) and a GRU classifier (16 steps of 8 features, hidden 32, unrolled over time into
ordinary ops by ``pocketml/graph/recurrent.py``; ``bench/recurrent_digits.py`` trains one), written from
their papers' layer tables in ``pocketml/models/reference.py`` (torchvision cannot be installed
beside this project's torch) with random weights and BatchNorm statistics drawn as ``check_op``
draws them, so activations neither vanish nor explode. Each is
checked with ``pocketml.check_model`` (every layer captured?), then ``pocketml.shrink`` for the board
(int8 PTQ on ``--samples`` random inputs, C, host build, Cortex-M build + QEMU, TFLite Micro) and
the table prints what it measured: int8 size, arena, flash/RAM on the board's core, whether the C
equals the int8 reference (host and QEMU) and TFLite Micro equals it, and the float-vs-int8 output
error in output steps (random weights: there is no accuracy to report).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import pocketml
from pocketml.models.reference import CNN1D, GRUClassifier, MobileNetV3Small, SqueezeNet11

NETS = {
    "mobilenetv3-small": (lambda: MobileNetV3Small(), (3, 224, 224)),
    "squeezenet1.1": (lambda: SqueezeNet11(), (3, 224, 224)),
    "cnn1d": (lambda: CNN1D(channels=3, classes=6, width=32), (3, 128)),
    "gru": (lambda: GRUClassifier(features=8, hidden=32, classes=10), (16, 8)),
}


def randomize_batchnorm(model: torch.nn.Module) -> None:
    """BatchNorm statistics as check_op draws them (a random model's BN is otherwise the identity)."""
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="portenta_h7")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nets", default=",".join(NETS))
    args = ap.parse_args()
    print(f"device {args.device}, {args.samples} random inputs (seed {args.seed}) for calibration and checks\n")
    print("| net | layers captured | blockers | ops | int8 KB | arena KB | flash KB | RAM KB | C = ref (host) "
          "| QEMU = ref | TFLM = ref | float err (steps, mean / max) | fits | shrink s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.nets.split(","):
        build, shape = NETS[name]
        torch.manual_seed(args.seed)
        model = build().eval()
        randomize_batchnorm(model)
        x = np.random.default_rng(args.seed).normal(size=(2 * args.samples, *shape)).astype(np.float32)
        check = pocketml.check_model(model, torch.as_tensor(x[:1]), name)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            r = pocketml.shrink(model, x[:args.samples], (x[args.samples:], None), args.device, Path(tmp) / "out",
                                name=name.replace(".", "_").replace("-", "_"), report=False)
            seconds = time.perf_counter() - t
        with torch.no_grad():
            want = model(torch.as_tensor(x[args.samples:])).numpy()
        from pocketml.compress.quantize import quantize
        from pocketml.graph.capture import capture

        graph = quantize(capture(model, torch.as_tensor(x[:1]), name), x[:args.samples])
        got = graph.output_info.quant.dequantize(graph.run(graph.quantize_input(x[args.samples:])))
        err = np.abs(got.reshape(want.shape) - want) / graph.output_info.quant.scale
        qemu = r.cortexm.qemu_mismatches if r.cortexm is not None else None
        qemu_text = "n/a" if qemu is None else f"{qemu == 0} ({r.cortexm.qemu_samples} samples)"
        tflm = r.verify.exact if r.verify is not None else None
        print(f"| {name} | {sum(c.ok for c in check.layers)}/{len(check.layers)} | {len(check.blockers)} "
              f"| {len(graph.ops)} | {r.size_bytes['int8'] / 1024:.0f} | {r.arena_bytes / 1024:.1f} "
              f"| {(r.flash_bytes or 0) / 1024:.0f} | {(r.ram_bytes or 0) / 1024:.0f} | {r.c_mismatches == 0} "
              f"| {qemu_text} | {tflm} | {err.mean():.2f} / {err.max():.1f} | {r.fits} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
