"""Fleets whose devices train only part of a model, with a trainer that may not be Python.

The federated model is the *trainable part* (e.g. a classifier head on a frozen int8 body): named
float32 arrays. Each client's local training is a :class:`PartTrainer`: a callable that takes the
global part, the client's samples and the run's settings and returns the trained part. The trainer
that runs the emitted C training step (what the microcontroller computes) lives above this package
(``pocketml.ondevice.federate``); this module only needs the protocol. A :class:`PartTask` is one
more federated task (task.py), so the ClientApp, the ServerApp and the fleet are pocketml's one
stack, whoever trains:

    PartTask         import the global part ─▶ trainer ─▶ LocalUpdate (+ train steps, payload bytes)
    ClientApp        delta ─▶ codec (error feedback) ─▶ reply          (client_app.py, as every run)
    ServerApp        spec.strategy (behind the UpdateGate) over the part; central evaluation per round
    run_part_fleet   simulate on LocalFleet (in-process Grid, wire bytes per link) ─▶ PartFleetResult
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from pocketml.federated.fleet import FleetProfile, RoundTraffic
from pocketml.federated.simulation import quiet, simulate
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.task import LocalUpdate, Task


class PartTrainer(Protocol):
    """Local training of the trainable part: ``epochs`` passes over (x, y), seeded order; returns new arrays."""

    def __call__(self, arrays: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, *, lr: float, epochs: int,
                 seed: int) -> dict[str, np.ndarray]: ...


def payload_bytes(payload: dict[str, np.ndarray]) -> int:
    """Bytes of the arrays a device sends (the encoded update, without Flower's framing)."""
    return int(sum(np.asarray(a).nbytes for a in payload.values()))


@dataclass(frozen=True)
class PartTask(Task):
    """The trainable part as a federated task: ``trainer`` on ``client_data(partition-id)`` = (x, y),
    ``evaluate(arrays)`` centrally. Replies report train steps and the payload's bytes; ``log`` gets
    one entry per local training (round, client, train steps, payload bytes)."""

    trainer: PartTrainer
    initial: dict[str, np.ndarray]
    client_data: Callable[[int], Sequence[np.ndarray]]
    evaluate_fn: Callable[[dict[str, np.ndarray]], float]
    log: list[dict[str, int]] = field(default_factory=list)

    def initial_arrays(self, spec: FederatedSpec) -> dict[str, np.ndarray]:
        return self.initial

    def train(self, arrays: dict[str, np.ndarray], partition_id: int, spec: FederatedSpec, *, seed: int,
              proximal_mu: float = 0.0) -> LocalUpdate:
        x, y = self.client_data(partition_id)
        local = self.trainer(arrays, x, y, lr=spec.lr, epochs=spec.local_epochs, seed=seed)
        return LocalUpdate(local, {"num-examples": len(x), "unit-weight": 1.0,
                                   "train-steps": len(x) * spec.local_epochs})

    def evaluate(self, arrays: dict[str, np.ndarray]) -> float:
        return float(self.evaluate_fn(arrays))

    def examples(self, partition_id: int) -> int:
        return len(self.client_data(partition_id)[0])

    def reply_metrics(self, update: LocalUpdate, payload: dict[str, np.ndarray], server_round: int,
                      partition_id: int) -> dict[str, int | float]:
        metrics = {**update.metrics, "payload-bytes": payload_bytes(payload)}
        self.log.append({"round": server_round, "client": partition_id, "train_steps": int(metrics["train-steps"]),
                         "payload_bytes": int(metrics["payload-bytes"])})
        return metrics


@dataclass(frozen=True)
class PartFleetResult:
    """A federated run over the trainable part. ``accuracy[i]``: after round i + 1 (``initial_accuracy`` before)."""

    spec: FederatedSpec
    accuracy: tuple[float, ...]
    initial_accuracy: float
    bytes_up: tuple[int, ...]  # Flower's wire bytes, client → server, per round
    bytes_down: tuple[int, ...]
    rounds: tuple[RoundTraffic, ...]
    train_metrics: dict[int, dict[str, float]]  # per round, the strategy's aggregate of the clients' metrics
    clients: tuple[dict[str, int], ...]  # every local training: round, client, train steps, payload bytes
    wall_time_s: float
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": list(self.accuracy), "initial_accuracy": self.initial_accuracy,
                "bytes_up_per_round": list(self.bytes_up), "bytes_down_per_round": list(self.bytes_down),
                "rounds": [vars(r) for r in self.rounds],
                "train_metrics": {str(k): v for k, v in self.train_metrics.items()},
                "clients": list(self.clients),
                "wall_time_s": round(self.wall_time_s, 3)}


def run_part_fleet(trainer: PartTrainer, initial: dict[str, np.ndarray],
                   client_data: Callable[[int], Sequence[np.ndarray]],
                   evaluate: Callable[[dict[str, np.ndarray]], float], spec: FederatedSpec,
                   fleet: FleetProfile | None = None, on_round: Callable[[int, float], None] | None = None,
                   ) -> PartFleetResult:
    """Federate the trainable part over ``spec.clients`` clients for ``spec.rounds`` rounds."""
    spec = spec.validate()
    fleet = (fleet or FleetProfile()).validate()
    task = PartTask(trainer, initial, client_data, evaluate)
    with quiet():
        sim = simulate(spec, task, fleet=fleet, on_round=on_round)
    metric = sim.hooks.metric
    return PartFleetResult(spec, tuple(metric[r] for r in sorted(metric) if r > 0), metric.get(0), sim.bytes_up,
                           sim.bytes_down, sim.rounds, sim.hooks.train_metrics, tuple(task.log), sim.wall_time_s,
                           sim.hooks.final_arrays)
