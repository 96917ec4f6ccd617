"""Personalisation on the device: each device adapts the shrunk model to its own data shift, in C.

For every seed a base model is trained on the clean data (``digits-cnn`` on digits) and quantized;
for every device (its own rotation, stroke width, gain and noise: ``pocketml.data.device_shift``)
the device's pool (the validation and test images, shifted) is split into up to 100 adaptation
samples and a held-out set. With N = 10 / 50 / 100 of the adaptation samples:

    before            the deployed model on the device's held-out samples (``<m>_predict``, untrained)
    on-device MODE    the emitted C training step (trainable MODE), ``epochs`` passes of batch-1 SGD
                      on the N samples, run by the host harness (bit-exact with the Cortex-M build:
                      bench/ondevice_train.py), then ``<m>_predict`` on the held-out samples
    host full         the float model, every layer fine-tuned on the same N samples on the host
                      (Adam), evaluated in float32 on the same held-out samples

``PersonalizeResult.summary()`` gives the mean and spread over devices × seeds per method and N.
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.data.dataset import Dataset
from pocketml.data.device_shift import DeviceShift, device_shifts
from pocketml.deploy.c.train import emit_train
from pocketml.deploy.c.train_host import HostTrainer, build_train_host
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.training import TRAINABLE, plan_training
from pocketml.models.registry import get_builtin
from pocketml.models.train import fit

BEFORE, HOST = "before", "host full fine-tune"


@dataclass(frozen=True)
class PersonalizeSettings:
    """Settings of a personalisation run (defaults in brackets).

    model ["digits-cnn"], devices [5], seeds [(0, 1, 2)], samples [(10, 50, 100)] local labelled
    samples, trainable [("last", "last+bias")] on-device modes compared, bias_layers [2], epochs [10]
    and lr [0.01] of the on-device SGD, host_epochs [30] and host_lr [1e-3] of the host's Adam,
    holdout [300] held-out samples per device.
    """

    model: str = "digits-cnn"
    devices: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    samples: tuple[int, ...] = (10, 50, 100)
    trainable: tuple[str, ...] = ("last", "last+bias")
    bias_layers: int = 2
    epochs: int = 10
    lr: float = 0.01
    host_epochs: int = 30
    host_lr: float = 1e-3
    holdout: int = 300

    def check(self) -> PersonalizeSettings:
        if self.model != "digits-cnn":
            raise PocketMLError(f"personalisation runs on digits-cnn (per-device image shifts), not {self.model!r}",
                                "use model='digits-cnn'")
        bad = [t for t in self.trainable if t not in TRAINABLE]
        if bad or not self.trainable:
            raise PocketMLError(f"unknown trainable part(s) {bad or '(none)'}", f"use some of: {', '.join(TRAINABLE)}")
        if self.devices < 1 or not self.seeds or not self.samples or min(self.samples) < 1:
            raise PocketMLError("personalisation needs devices >= 1, a seed and sample counts >= 1",
                                "e.g. devices=5, seeds=(0, 1, 2), samples=(10, 50, 100)")
        if self.epochs < 1 or self.host_epochs < 1 or not self.lr > 0 or not self.host_lr > 0:
            raise PocketMLError("epochs and learning rates must be positive", "e.g. epochs=10, lr=0.01")
        return self


@dataclass(frozen=True)
class DeviceScore:
    """One device, one seed, one N, one method: held-out accuracy."""

    seed: int
    device: int
    samples: int
    method: str
    accuracy: float


@dataclass(frozen=True)
class PersonalizeResult:
    settings: PersonalizeSettings
    scores: tuple[DeviceScore, ...]
    shifts: dict[int, list[dict]]  # seed -> every device's shift
    clean_accuracy: dict[int, float]  # seed -> the base model (float) on the clean test split
    seconds: float
    method_notes: dict[str, str] = field(default_factory=dict)

    def methods(self) -> list[str]:
        return list(dict.fromkeys(s.method for s in self.scores))

    def summary(self) -> list[dict[str, Any]]:
        """Per method and N: mean, standard deviation, and the gain over ``before`` (same device and seed)."""
        before = {(s.seed, s.device): s.accuracy for s in self.scores if s.method == BEFORE}
        rows = []
        for method in self.methods():
            for n in self.settings.samples:
                got = [s for s in self.scores if s.method == method and (s.samples == n or method == BEFORE)]
                acc = np.array([s.accuracy for s in got])
                gain = np.array([s.accuracy - before[(s.seed, s.device)] for s in got])
                rows.append({"method": method, "samples": n, "runs": len(got), "mean": float(acc.mean()),
                             "std": float(acc.std()), "gain_mean": float(gain.mean()), "gain_std": float(gain.std()),
                             "gain_min": float(gain.min()), "gain_max": float(gain.max())})
        return rows

    def to_json(self) -> dict[str, Any]:
        s = self.settings
        return {"settings": {**asdict(s), "seeds": list(s.seeds), "samples": list(s.samples),
                             "trainable": list(s.trainable)},
                "summary": self.summary(), "scores": [asdict(x) for x in self.scores],
                "shifts": {str(k): v for k, v in self.shifts.items()},
                "clean_accuracy": {str(k): v for k, v in self.clean_accuracy.items()},
                "seconds": round(self.seconds, 1), "methods": self.method_notes}


def personalize(settings: PersonalizeSettings | None = None, *, progress: bool = False,
                base: Callable[[int], tuple[nn.Module, Dataset]] | None = None) -> PersonalizeResult:
    """Run the study (see the module docstring). ``base(seed)`` → (trained float model, dataset) replaces
    training the built-in model (tests pass an already trained one)."""
    settings = (settings or PersonalizeSettings()).check()
    spec = get_builtin(settings.model)
    base = base or (lambda seed: spec.trained(seed=seed, progress=False))
    start = time.perf_counter()
    scores: list[DeviceScore] = []
    shifts: dict[int, list[dict]] = {}
    clean: dict[int, float] = {}
    from rich.progress import Progress

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: one thread is the fast choice on a shared machine
    with Progress(transient=True, disable=not progress) as bar, tempfile.TemporaryDirectory() as tmp:
        job = bar.add_task("personalise", total=len(settings.seeds) * settings.devices)
        for seed in settings.seeds:
            model, data = base(seed)
            model.eval()
            clean[seed] = float(np.mean(_predict(model, data.test.x) == data.test.y))
            graph = quantize(capture(model, torch.as_tensor(data.train.x[:1]), settings.model), data.train.x)
            trainers = {mode: _trainer(graph, mode, settings.bias_layers, Path(tmp) / f"{seed}-{mode}")
                        for mode in settings.trainable}
            devices = device_shifts(settings.devices, seed)
            shifts[seed] = [d.to_dict() for d in devices]
            for k, shift in enumerate(devices):
                scores += _device(seed, k, shift, model, graph, trainers, data, settings)
                bar.advance(job)
    torch.set_num_threads(threads)
    notes = {BEFORE: "the deployed model (C <m>_predict, untrained) on the device's held-out samples",
             HOST: f"float model, every layer fine-tuned on the host (Adam lr {settings.host_lr}, "
                   f"{settings.host_epochs} epochs, BatchNorm statistics frozen), float32 evaluation"}
    for mode in settings.trainable:
        notes[f"on-device {mode}"] = (f"the emitted C training step (trainable {mode}), {settings.epochs} epochs of "
                                      f"batch-1 SGD at lr {settings.lr}, then C <m>_predict")
    return PersonalizeResult(settings, tuple(scores), shifts, clean, time.perf_counter() - start, notes)


def _trainer(graph, mode: str, bias_layers: int, folder: Path) -> HostTrainer:
    plan = plan_training(graph, mode, bias_layers)
    source = emit_train(plan, "model")
    folder.mkdir(parents=True)
    for name, text in source.files.items():
        (folder / name).write_text(text)
    return HostTrainer(plan, build_train_host(folder, source.prefix, source.sources, folder / "build"))


def _device(seed: int, k: int, shift: DeviceShift, model: nn.Module, graph, trainers: dict[str, HostTrainer],
            data: Dataset, s: PersonalizeSettings) -> list[DeviceScore]:
    """One device: shift its pool, split adaptation / held-out, score every method at every N."""
    rng = np.random.default_rng([seed, k, 101])
    x = np.concatenate([data.val.x, data.test.x])
    y = np.concatenate([data.val.y, data.test.y])
    order = rng.permutation(len(x))
    x, y = shift.apply(x[order], rng), y[order]
    most = max(s.samples)
    if len(x) < most + 10:
        raise PocketMLError(f"the pool has {len(x)} samples, too few for {most} adaptation samples",
                            "ask for fewer samples")
    held_x, held_y = x[most:most + s.holdout], y[most:most + s.holdout]
    xq, held_q = graph.quantize_input(x[:most]), graph.quantize_input(held_x)
    first = next(iter(trainers.values()))
    initial = first.plan.to_flat(first.plan.initial_state())
    out = [DeviceScore(seed, k, 0, BEFORE, _accuracy(first.predict(initial, held_q), held_y))]
    for n in s.samples:
        for mode, trainer in trainers.items():
            start = trainer.plan.to_flat(trainer.plan.initial_state())
            trained = trainer.train(start, xq[:n], y[:n], s.lr, epochs=s.epochs, seed=seed * 1000 + k)
            accuracy = _accuracy(trainer.predict(trained, held_q), held_y)
            out.append(DeviceScore(seed, k, n, f"on-device {mode}", accuracy))
        tuned = fine_tune_host(model, x[:n], y[:n], s.host_epochs, s.host_lr, seed * 1000 + k)
        out.append(DeviceScore(seed, k, n, HOST, float(np.mean(_predict(tuned, held_x) == held_y))))
    return out


def fine_tune_host(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int) -> nn.Module:
    """Every layer of a copy of ``model`` fine-tuned on (x, y) by the one training loop (``models.train.fit``:
    Adam, batches of 16, constant lr), BatchNorm statistics frozen (a handful of samples cannot estimate them)."""
    tuned = copy.deepcopy(model)
    norms = [m for m in tuned.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def loss(module: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        for bn in norms:  # fit() puts the module in train mode each epoch: keep the base model's statistics
            bn.eval()
        return nn.functional.cross_entropy(module(xb), yb)

    return fit(tuned, (torch.as_tensor(x), torch.as_tensor(y)), loss, epochs=epochs, batch_size=16, seed=seed,
               lr=lr, schedule=None)


def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(x)).argmax(1).numpy()


def _accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.asarray(logits).argmax(1) == y))
