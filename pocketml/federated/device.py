"""Flower apps for fleets whose devices train only part of a model, with a trainer that may not be Python.

The federated model is the *trainable part* (e.g. a classifier head on a frozen int8 body): named
float32 arrays. Each client's local training is a :class:`PartTrainer`: a callable that takes the
global part, the client's samples and the run's settings and returns the trained part. The trainer
that runs the emitted C training step (what the microcontroller computes) lives above this package
(``pocketml.ondevice.federate``); this module only needs the protocol, so the ClientApp, the
ServerApp and the fleet are the same whoever trains.

    DeviceClientApp  import the global part ─▶ trainer ─▶ delta ─▶ codec (error feedback) ─▶ reply
    ServerApp        spec.strategy (behind the UpdateGate) over the part; central evaluation per round
    run_part_fleet   LocalFleet (in-process Grid, wire bytes per link) ─▶ PartFleetResult
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from pocketml.federated import codec
from pocketml.federated.client_app import compress_update
from pocketml.federated.fleet import FleetProfile, LocalFleet, RoundTraffic
from pocketml.federated.records import from_record, to_record
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.strategies import make_strategy


class PartTrainer(Protocol):
    """Local training of the trainable part: ``epochs`` passes over (x, y), seeded order; returns new arrays."""

    def __call__(self, arrays: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, *, lr: float, epochs: int,
                 seed: int) -> dict[str, np.ndarray]: ...


def payload_bytes(payload: dict[str, np.ndarray]) -> int:
    """Bytes of the arrays a device sends (the encoded update, without Flower's framing)."""
    return int(sum(np.asarray(a).nbytes for a in payload.values()))


def build_device_client_app(trainer: PartTrainer, client_data: Callable[[int], Sequence[np.ndarray]],
                            log: list[dict[str, int]] | None = None) -> ClientApp:
    """A ClientApp whose local training is ``trainer`` on ``client_data(partition-id)`` = (x, y).

    Replies with the trained part, or (``compress`` other than "none") an encoded delta with
    client-side error feedback in ``context.state``, as the other pocketml ClientApps. ``log``
    (simulation) gets one entry per local training: round, client, train steps, payload bytes."""
    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        spec = FederatedSpec.from_run_config(context.run_config)
        pid = int(context.node_config["partition-id"])
        server_round = int(msg.content["config"]["server-round"])
        start = from_record(msg.content["arrays"])
        x, y = client_data(pid)
        local = trainer(start, x, y, lr=spec.lr, epochs=spec.local_epochs,
                        seed=spec.seed * 100003 + server_round * 1009 + pid)
        metrics = {"num-examples": len(x), "unit-weight": 1.0, "train-steps": len(x) * spec.local_epochs}
        if spec.compress == "none":
            metrics["payload-bytes"] = payload_bytes(local)
            _log(log, server_round, pid, metrics)
            return Message(RecordDict({"arrays": to_record(local), "metrics": MetricRecord(metrics)}), reply_to=msg)
        layout = codec.Layout.of(start)
        delta = layout.flatten(local) - layout.flatten(start)
        payload = compress_update(context, spec, delta, layout)  # error feedback, as every pocketml ClientApp
        metrics["payload-bytes"] = payload_bytes(payload)
        _log(log, server_round, pid, metrics)
        return Message(RecordDict({"update": to_record(payload), "metrics": MetricRecord(metrics),
                                   "codec": ConfigRecord({"name": spec.compress})}), reply_to=msg)

    return app


def _log(log: list[dict[str, int]] | None, server_round: int, pid: int, metrics: dict) -> None:
    if log is not None:
        log.append({"round": server_round, "client": pid, "train_steps": int(metrics["train-steps"]),
                    "payload_bytes": int(metrics["payload-bytes"])})


@dataclass
class PartHooks:
    """What the ServerApp reports: the metric per round (0 = before any), the final part, client metrics."""

    metric: dict[int, float] = field(default_factory=dict)
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    train_metrics: dict[int, dict[str, float]] = field(default_factory=dict)
    on_round: Callable[[int, float], None] | None = None


def build_part_server_app(initial: dict[str, np.ndarray], evaluate: Callable[[dict[str, np.ndarray]], float],
                          hooks: PartHooks) -> ServerApp:
    """A ServerApp running ``spec.strategy`` over the part, evaluating it centrally before and after each round."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        spec = FederatedSpec.from_run_config(context.run_config)
        hooks.final_arrays = initial

        def central(server_round: int, record: ArrayRecord) -> MetricRecord:
            arrays = from_record(record)
            hooks.metric[server_round] = float(evaluate(arrays))
            if server_round > 0:
                hooks.final_arrays = arrays
                if hooks.on_round is not None:
                    hooks.on_round(server_round, hooks.metric[server_round])
            return MetricRecord({"accuracy": hooks.metric[server_round]})

        result = make_strategy(spec).start(grid, to_record(initial), num_rounds=spec.rounds,
                                           timeout=float(context.run_config.get("round-timeout", 3600.0)),
                                           train_config=ConfigRecord({"lr": spec.lr}), evaluate_fn=central)
        for rnd, record in result.train_metrics_clientapp.items():
            hooks.train_metrics[int(rnd)] = {k: float(v) for k, v in record.items()}

    return app


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
    config = spec.to_run_config()
    config["round-timeout"] = fleet.round_timeout if np.isfinite(fleet.round_timeout) else 1e9
    hooks = PartHooks(on_round=on_round)
    log: list[dict[str, int]] = []
    grid = LocalFleet(build_device_client_app(trainer, client_data, log), spec.clients, config, fleet, seed=spec.seed)
    flwr_logger = logging.getLogger("flwr")
    level = flwr_logger.level
    flwr_logger.setLevel(logging.WARNING)
    start = time.perf_counter()
    try:
        build_part_server_app(initial, evaluate, hooks)(grid, Context(run_id=1, node_id=0, node_config={},
                                                                      state=RecordDict(), run_config=config))
    finally:
        flwr_logger.setLevel(level)
    train = tuple(t for t in grid.traffic if t.round > 0)
    return PartFleetResult(spec, tuple(hooks.metric[r] for r in sorted(hooks.metric) if r > 0), hooks.metric.get(0),
                           tuple(t.bytes_up for t in train), tuple(t.bytes_down for t in train), train,
                           hooks.train_metrics, tuple(log), time.perf_counter() - start, hooks.final_arrays)
