"""``pocketml shrink`` on a trained nn.LSTM sequence classifier (issue 21, Deliver 2): accuracy and exactness.

    .venv/bin/python bench/lstm_classifier.py [--device nano33ble] [--seeds 0 1 2]

The task is generated (no download): 24 steps of 4 noisy channels (N(0, 0.6)); one channel k (the
class, 0-2) carries a pulse of +1.2 for 2 steps starting in the first 8 steps; the rest is noise. The
class is decided only at the start, so a classifier reading the **last** hidden state must remember
it for 15 or more steps. Model: ``nn.LSTM(4, 16, batch_first=True)`` and a ``Linear(16, 3)`` on
``y[:, -1]``; Adam (lr 0.01), 30 epochs of 1,500 samples, batch 64, per seed. Then ``shrink`` for
the board (PTQ with 300 training samples as calibration): the LSTM becomes TFLite Micro's int8 x int16
UNIDIRECTIONAL_SEQUENCE_LSTM between two TRANSPOSEs. Printed per seed: test accuracy (500 samples) in
float PyTorch, the int8 reference and the C; C vs reference mismatches; ``verify.exact`` (reference,
C, TFLite Micro on the written model.tflite, QEMU); QEMU mismatches; flash and RAM on the board.
The LSTM keeps its state between invokes (docs/compile.md, "Ops with memory"): ``shrink`` runs the
test samples one after another without a reset, so the int8 and C accuracies are those of a stream
(each sample starts from the state the previous one left), while PyTorch starts every sample from
zero; a deployment that classifies independent sequences calls ``<prefix>_reset()`` before each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

STEPS, CHANNELS, CLASSES, UNITS = 24, 4, 3, 16


def pulses(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The generated task (module docstring): [n, STEPS, CHANNELS] float32 and the classes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.6, (n, STEPS, CHANNELS)).astype(np.float32)
    y = rng.integers(0, CLASSES, n)
    start = rng.integers(0, 8, n)
    for i in range(n):
        x[i, start[i]:start[i] + 2, y[i]] += 1.2
    return x, y


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(CHANNELS, UNITS, batch_first=True)
        self.fc = nn.Linear(UNITS, CLASSES)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def trained(seed: int, x: np.ndarray, y: np.ndarray) -> Classifier:
    torch.manual_seed(seed)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    for _ in range(30):
        order = torch.randperm(len(xt))
        for b in range(0, len(xt), 64):
            idx = order[b:b + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model.eval()


def main() -> None:
    from pocketml import shrink

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="nano33ble")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print("| seed | float acc | int8 acc | C acc | C vs ref mismatches | verify.exact | QEMU mismatches "
          "| flash B | RAM B |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-lstm-") as tmp:
        for seed in args.seeds:
            x_train, y_train = pulses(1500, 100 + seed)
            x_test, y_test = pulses(500, 200 + seed)
            model = trained(seed, x_train, y_train)
            out = Path(tmp) / f"seed{seed}"
            shrink(model, x_train[:300], (x_test, y_test), args.device, out, name="lstm_classifier", report=False,
                   seed=seed)
            doc = json.loads((out / "result.json").read_text())
            acc, cm = doc["accuracy"], doc.get("cortexm") or {}
            qemu = f"{cm['qemu_mismatches']}/{cm['qemu_samples']}" if cm.get("qemu_samples") else "not run"
            print(f"| {seed} | {acc['float']:.3f} | {acc['int8']:.3f} | {acc['c']:.3f} | {doc['c_mismatches']} "
                  f"| {doc['verify'].get('exact')} | {qemu} | {doc['flash_bytes']:,} | {doc['ram_bytes']:,} |",
                  flush=True)


if __name__ == "__main__":
    main()
