"""A trained GRU (or LSTM) classifier shrunk for a board: digits read row by row (issue 21).

    .venv/bin/python bench/recurrent_digits.py [--cell gru|lstm] [--device nano33ble] [--seeds 0,1,2]
                                               [--hidden 32] [--epochs 40] [--optimize speed|size]
                                               [--recurrent sequence,unroll]

scikit-learn's 8x8 digits (``pocketml.data.digits``: ships with the package) as sequences of 8
time steps of 8 pixels (row t is step t), classified by ``GRUClassifier`` (one ``nn.GRU``,
batch_first, its last hidden state into a Linear; ``--cell lstm``: ``LSTMClassifier``, ``nn.LSTM``),
trained with ``pocketml.models.train.train`` (the one loop, ``fit``) for each seed, then
``pocketml.shrink`` for the board: the recurrent layer unrolled over the 8 steps into ordinary int8
ops (``pocketml/graph/recurrent.py``), calibrated on 256 training sequences, C built for the host
and the board's core (QEMU), checked against TFLite Micro. The table prints the test accuracy of
the float model, of the int8 reference and of the C, whether C, QEMU and TFLite Micro equal the
reference, the size (int8 KB: weights and biases summed over the ops, each step's counted again;
C const KB: the constant arrays model.c holds, each step's equal weights once), the board
footprint, and the instructions one inference takes in QEMU (``-icount``). ``--optimize`` is
``shrink``'s (the board's default when not given).

``--recurrent`` (LSTM only; default ``sequence,unroll``): ``shrink``'s ``recurrent`` routes, each
model shrunk once per route, the rows side by side: ``sequence`` the LSTM as one
UNIDIRECTIONAL_SEQUENCE_LSTM op (int16 cell state, state reset per inference: every test sequence
runs from the zero state in the C, QEMU and TFLite Micro), ``unroll`` as ordinary int8 ops. A GRU
is always unrolled.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

import pocketml
from pocketml.data.dataset import Split
from pocketml.data.digits import load_digits
from pocketml.models.reference import GRUClassifier, LSTMClassifier
from pocketml.models.train import train


def rows(split: Split) -> Split:
    """[N, 1, 8, 8] images → [N, 8 steps, 8 features] sequences (row t is step t)."""
    return Split(split.x[:, 0], split.y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cell", choices=("gru", "lstm"), default="gru")
    ap.add_argument("--device", default="nano33ble")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--optimize", choices=("speed", "size"), default=None)
    ap.add_argument("--recurrent", default="sequence,unroll", help="LSTM routes to compare (comma-separated)")
    args = ap.parse_args()
    routes = args.recurrent.split(",") if args.cell == "lstm" else ["unroll"]
    data = load_digits()
    tr, va, te = rows(data.train), rows(data.val), rows(data.test)
    optimize = args.optimize or "the board default"
    print(f"digits as 8 steps x 8 pixels: {len(tr.x)} train / {len(te.x)} test sequences; {args.cell.upper()} "
          f"hidden {args.hidden}, {args.epochs} epochs; device {args.device}, optimize {optimize}\n")
    print("| seed | route | float acc | int8 acc | C acc | C = ref | QEMU = ref | TFLM = ref | ops | int8 KB "
          "| C const KB | arena B | state B | flash KB | RAM KB | QEMU instructions | fits | shrink s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in (int(s) for s in args.seeds.split(",")):
        torch.manual_seed(seed)
        net = GRUClassifier if args.cell == "gru" else LSTMClassifier
        model = train(net(features=8, hidden=args.hidden, classes=10), tr, va, epochs=args.epochs,
                      seed=seed, progress=False)
        for route in routes:
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                r = pocketml.shrink(model, tr.x[:256], te, args.device, Path(tmp) / "out",
                                    name=f"{args.cell}_digits", optimize=args.optimize, report=False,
                                    recurrent=route)
                seconds = time.perf_counter() - t
            print(_row(seed, route, r, seconds), flush=True)


def _row(seed: int, route: str, r, seconds: float) -> str:
    """One table row of a shrunk model."""
    acc = r.accuracy
    qemu = r.cortexm.qemu_mismatches if r.cortexm is not None else None
    qemu_text = "n/a" if qemu is None else f"{qemu == 0} ({r.cortexm.qemu_samples} samples)"
    tflm = {c.runtime: c for c in r.verify.report.checks}.get("tflm") if r.verify is not None else None
    tflm_text = "n/a" if tflm is None or not tflm.available else (
        f"{tflm.mismatching_samples == 0} ({tflm.samples} samples)")
    instructions = r.cortexm.instructions_per_inference if r.cortexm is not None else None
    return (f"| {seed} | {route} | {acc['float']:.3f} | {acc['int8']:.3f} | {acc['c']:.3f} | {r.c_mismatches == 0} "
            f"| {qemu_text} | {tflm_text} | {len(r.layers)} | {r.size_bytes['int8'] / 1024:.1f} "
            f"| {r.size_bytes['deployed'] / 1024:.1f} | {r.arena_bytes} | {r.memory.state_bytes} "
            f"| {(r.flash_bytes or 0) / 1024:.1f} | {(r.ram_bytes or 0) / 1024:.2f} | {instructions:,} | {r.fits} "
            f"| {seconds:.0f} |")


if __name__ == "__main__":
    main()
