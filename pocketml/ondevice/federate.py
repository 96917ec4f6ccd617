"""Flower clients that train in C: the update Flower receives is what the microcontroller computes.

A fleet of similar devices improves one model together. The base model (``digits-cnn``, trained on
clean digits) is shrunk to int8; its trainable part (``trainable``, default the classifier) is the
federated model. Every client is a device with its own sensor shift (``pocketml.data.device_shift``)
holding its share of the training split; the test split is shifted the same way, sample i by
device i mod clients.

    C clients       local training = the emitted training step (c/train.c), run by the host harness
                    (bit-exact with the Cortex-M4 build in QEMU: bench/ondevice_train.py)
    Python clients  the same part trained by PyTorch autograd (graph/training_torch.py), the same
                    samples in the same order, the same lr: what the C is compared with

Both run on the same Flower apps (``pocketml.federated.device``), strategy, codec and seed. Per
round: accuracy of the global part on the shifted test split, uplink bytes (Flower's wire bytes
and the payload a device sends), and the devices' energy: train steps × QEMU instructions per
step / clock × the board's active power, plus the board's radio sending the payload.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.data.dataset import Dataset
from pocketml.data.device_shift import device_shifts
from pocketml.deploy.c.train import emit_train
from pocketml.deploy.c.train_host import Commands, HostTrainer, build_train_host
from pocketml.devices import find_device, load_catalogue
from pocketml.energy.radios import find_radio
from pocketml.errors import PocketMLError
from pocketml.federated.device import PartFleetResult, run_part_fleet
from pocketml.federated.partition import partition
from pocketml.federated.spec import FederatedSpec
from pocketml.graph.capture import capture
from pocketml.graph.training import TrainPlan, plan_training
from pocketml.graph.training_torch import torch_step
from pocketml.models.registry import get_builtin

STEP_SAMPLES = 8  # train steps timed in QEMU for the instructions per step


@dataclass(frozen=True)
class FederateInCSettings:
    """Settings (defaults in brackets): model ["digits-cnn"], device ["nano33ble"] (the board whose
    core, clock, power and radio price a round), radio [None: the board's own], clients [10],
    rounds [10], fraction [1.0], partition ["iid"], local_epochs [1], lr [0.01], compress ["none"],
    topk_fraction [0.05], trainable ["last"], bias_layers [2], seed [0], shift [True] (each client
    its own sensor shift), python_clients [True] (also run the PyTorch clients to compare)."""

    model: str = "digits-cnn"
    device: str = "nano33ble"
    radio: str | None = None
    clients: int = 10
    rounds: int = 10
    fraction: float = 1.0
    partition: str = "iid"
    local_epochs: int = 1
    lr: float = 0.01
    compress: str = "none"
    topk_fraction: float = 0.05
    trainable: str = "last"
    bias_layers: int = 2
    seed: int = 0
    shift: bool = True
    python_clients: bool = True

    def check(self) -> FederateInCSettings:
        """Fail fast (before any model trains) on settings that cannot run."""
        from pocketml.graph.training import TRAINABLE

        self.spec()
        if self.trainable not in TRAINABLE:
            raise PocketMLError(f"unknown trainable part {self.trainable!r}", f"use one of: {', '.join(TRAINABLE)}")
        find_device(self.device, load_catalogue())
        if self.radio is not None:
            find_radio(self.radio)
        if self.model != "digits-cnn":
            raise PocketMLError(f"the C-client fleet runs digits-cnn (per-device image shifts), not {self.model!r}",
                                "use model='digits-cnn'")
        return self

    def spec(self) -> FederatedSpec:
        return FederatedSpec(clients=self.clients, rounds=self.rounds, fraction=self.fraction,
                             partition=self.partition, local_epochs=self.local_epochs, lr=self.lr,
                             compress=self.compress, topk_fraction=self.topk_fraction, seed=self.seed).validate()


@dataclass(frozen=True)
class RoundEnergy:
    """One round on the devices: train steps, payload bytes sent, and the energy (estimates)."""

    round: int
    clients: int
    train_steps: int
    payload_bytes: int
    compute_joules: float
    radio_joules: float

    @property
    def joules(self) -> float:
        return self.compute_joules + self.radio_joules


@dataclass(frozen=True)
class FederateInCResult:
    settings: FederateInCSettings
    plan: dict[str, Any]
    c: PartFleetResult
    python: PartFleetResult | None
    energy: tuple[RoundEnergy, ...]
    instructions_per_step: float
    instructions_method: str
    full_model_bytes: int  # the whole float model's update (what a client without on-device training sends)
    radio: str
    seconds: float
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def accuracy_gap(self) -> float | None:
        """Largest |C − Python| accuracy over the rounds (points are x100)."""
        if self.python is None:
            return None
        return float(max(abs(a - b) for a, b in zip(self.c.accuracy, self.python.accuracy, strict=True)))

    def to_json(self) -> dict[str, Any]:
        return {"settings": asdict(self.settings), "plan": self.plan, "c_clients": self.c.to_json(),
                "python_clients": None if self.python is None else self.python.to_json(),
                "accuracy_gap": self.accuracy_gap, "final_accuracy_c": self.c.accuracy[-1],
                "final_accuracy_python": None if self.python is None else self.python.accuracy[-1],
                "energy_per_round": [{**asdict(e), "joules": e.joules} for e in self.energy],
                "instructions_per_step": self.instructions_per_step, "instructions_method": self.instructions_method,
                "trainable_part_bytes": 4 * self.plan["trainable_values"], "full_model_bytes": self.full_model_bytes,
                "radio": self.radio, "seconds": round(self.seconds, 1), "notes": self.notes, "estimate": True}


@dataclass(frozen=True)
class Fleet:
    """The clients' int8 samples (each shifted by its device) and the shifted int8 test split."""

    x: tuple[np.ndarray, ...]
    y: tuple[np.ndarray, ...]
    test_x: np.ndarray
    test_y: np.ndarray

    def client(self, pid: int) -> tuple[np.ndarray, np.ndarray]:
        return self.x[pid], self.y[pid]


def make_fleet(graph, data: Dataset, s: FederateInCSettings) -> Fleet:
    shifts = device_shifts(s.clients, s.seed) if s.shift else None
    parts = partition(data.train.y, s.clients, s.partition, seed=s.seed)
    xs, ys = [], []
    for pid, idx in enumerate(parts):
        x = data.train.x[idx]
        if shifts is not None:
            x = shifts[pid].apply(x, np.random.default_rng([s.seed, pid, 17]))
        xs.append(graph.quantize_input(x))
        ys.append(data.train.y[idx])
    test = data.test.x.copy()
    if shifts is not None:
        for pid in range(s.clients):
            test[pid::s.clients] = shifts[pid].apply(test[pid::s.clients], np.random.default_rng([s.seed, pid, 29]))
    return Fleet(tuple(xs), tuple(ys), graph.quantize_input(test), data.test.y)


def c_trainer(plan: TrainPlan, host: HostTrainer) -> Callable[..., dict[str, np.ndarray]]:
    """The PartTrainer that runs the emitted C (``HostTrainer``: import, batch-1 SGD, export)."""
    def train(arrays, x, y, *, lr, epochs, seed):
        flat = plan.to_flat(plan.from_arrays(arrays))
        return plan.to_arrays(plan.from_flat(host.train(flat, x, y, lr, epochs=epochs, seed=seed)))
    return train


def python_trainer(plan: TrainPlan) -> Callable[..., dict[str, np.ndarray]]:
    """The PartTrainer in PyTorch autograd: the same samples in the same order (``HostTrainer.train``'s)."""
    def train(arrays, x, y, *, lr, epochs, seed):
        state = plan.from_arrays(arrays)
        biases = [b.astype(np.float64) for b in state.biases]
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            for i in rng.permutation(len(x)):
                rounded = tuple(np.round(v).astype(np.int32) for v in biases)
                w, b, steps = torch_step(plan, replace(state, biases=rounded), x[i], int(y[i]), lr)
                biases = [v + step for v, step in zip(biases, steps, strict=True)]
                state = replace(state, head_w=w, head_b=b)
        out = plan.to_arrays(state)
        for layer, v in zip(plan.bias_layers, biases, strict=True):
            out[f"{layer.name}.bias"] = v.astype(np.float32)
        return out
    return train


def instructions_per_step(plan: TrainPlan, folder: Path, board, fleet: Fleet) -> tuple[float, str]:
    """Mean QEMU instructions of ``STEP_SAMPLES`` train steps on the board's core, built with its kernels
    (the DSP kernels for the frozen layers on a core with the DSP extension), the trained state checked
    against the reference; the cost model without QEMU."""
    from pocketml.deploy.c.dsp import PORTABLE, KernelTarget, has_dsp
    from pocketml.deploy.cortexm import is_cortexm, toolchain_available
    from pocketml.deploy.cortexm.toolchain import core_target
    from pocketml.deploy.cortexm.train import measure_train_cortexm

    core = board.core
    if is_cortexm(core) and core_target(core).runs_in_qemu and toolchain_available(need_qemu=True):
        source = emit_train(plan, "model", kernels=KernelTarget(True, "speed") if has_dsp(board) else PORTABLE)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in source.files.items():
            (folder / name).write_text(text)
        x, y = fleet.client(0)
        state = plan.initial_state()
        cmd = Commands(plan).load(plan.to_flat(state))
        for i in range(min(STEP_SAMPLES, len(x))):
            cmd.step(x[i], int(y[i]), 0.01)
            state = plan.step(state, x[i], int(y[i]), 0.01)
        report, run = measure_train_cortexm(folder, source, core, cmd.export())
        if not np.array_equal(np.asarray(run.replies[-1], np.float32).view(np.uint32),
                              plan.to_flat(state).view(np.uint32)):
            raise PocketMLError(f"the {core} training step in QEMU differs from the reference",
                                "this is a pocketml bug: please report it")
        return float(report.instructions_per_step), (
            f"QEMU instruction count of {core} train steps ({source.kernels} kernels for the frozen layers; "
            f"mean of {report.qemu_steps}, state checked bit for bit), 1 instruction per cycle")
    from pocketml.devices.cost import CYCLES, DEFAULT_CORE

    per_mac = CYCLES.get(core, CYCLES[DEFAULT_CORE])[0]
    return 2.0 * plan.graph.macs() * per_mac, "cost-model estimate: 2 x inference MACs x cycles per MAC (no QEMU)"


def federate_in_c(settings: FederateInCSettings | None = None, *, progress: bool = False,
                  base: Callable[[int], tuple[nn.Module, Dataset]] | None = None) -> FederateInCResult:
    """Run the C-client fleet (and the Python-client fleet) with the same settings; see the module docstring."""
    s = (settings or FederateInCSettings()).check()
    spec = s.spec()
    board = find_device(s.device, load_catalogue())
    radio = find_radio(s.radio or next((r for r in board.radios if r in ("ble", "lora", "wifi", "nbiot")), "ble"))
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, data = (base or (lambda seed: get_builtin(s.model).trained(seed=seed, progress=False)))(s.seed)
        model.eval()
        graph = quantize(capture(model, torch.as_tensor(data.train.x[:1]), s.model), data.train.x)
        plan = plan_training(graph, s.trainable, s.bias_layers)
        fleet = make_fleet(graph, data, s)
        initial = plan.to_arrays(plan.initial_state())

        def evaluate(arrays):
            return float(np.mean(plan.predict(plan.from_arrays(arrays), fleet.test_x).argmax(1) == fleet.test_y))

        with tempfile.TemporaryDirectory(prefix="pocketml-fl-c-") as tmp:
            folder = Path(tmp)
            source = emit_train(plan, "model")
            for name, text in source.files.items():
                (folder / name).write_text(text)
            host = HostTrainer(plan, build_train_host(folder, source.prefix, source.sources, folder / "build"))
            insns, method = instructions_per_step(plan, folder / "board", board, fleet)
            from rich.progress import Progress

            with Progress(transient=True, disable=not progress) as bar:
                job = bar.add_task("C clients", total=s.rounds * (2 if s.python_clients else 1))
                c = run_part_fleet(c_trainer(plan, host), initial, fleet.client, evaluate, spec,
                                   on_round=lambda r, a: bar.advance(job))
                py = (run_part_fleet(python_trainer(plan), initial, fleet.client, evaluate, spec,
                                     on_round=lambda r, a: bar.advance(job)) if s.python_clients else None)
    finally:
        torch.set_num_threads(threads)
    energy = round_energy(c, insns, board, radio)
    full = 4 * sum(p.numel() for p in model.parameters())
    notes = {"energy": "estimates: compute = train steps x instructions per step / clock x active power "
                       f"({board.active_mw} mW at {board.clock_mhz:g} MHz, {board.name}); radio = {radio.name} "
                       "sending each client's payload (the encoded update's arrays); receiving the global part "
                       "is not counted",
             "python_clients": "PyTorch autograd on a straight-through surrogate of the same int8 forward pass, "
                               "the same samples in the same order and lr; int32 biases kept in float"}
    return FederateInCResult(s, plan.to_dict(), c, py, energy, insns, method, full, radio.id,
                             time.perf_counter() - start, notes)


def round_energy(result: PartFleetResult, insns: float, board, radio) -> tuple[RoundEnergy, ...]:
    """Per round: every client that trained, its compute (instructions → joules) and its radio payload."""
    out = []
    for r in range(1, len(result.accuracy) + 1):
        rows = [c for c in result.clients if c["round"] == r]
        steps = sum(c["train_steps"] for c in rows)
        compute = steps * insns / (board.clock_mhz * 1e6) * board.active_mw / 1e3
        radio_j = sum(radio.message_joules(c["payload_bytes"]) for c in rows)
        out.append(RoundEnergy(r, len(rows), steps, sum(c["payload_bytes"] for c in rows), compute, radio_j))
    if not out:
        raise PocketMLError("the federated run trained no round", "check the fleet settings (fraction, rounds)")
    return tuple(out)
