"""The pocketml ServerApp (Flower Message API): run a strategy over a task, evaluate centrally, checkpoint.

``build_server_app(make_task, hooks)`` is the only ServerApp: it rebuilds the FederatedSpec from
``context.run_config``, starts ``make_task(spec)``'s initial model and runs ``make_strategy(spec)``
(behind the UpdateGate) for ``spec.rounds`` rounds. After each round the global model is
evaluated with the task (``Task.evaluate``) and, when a checkpoint path is given, written atomically
(temp file, then rename) with the round number and the history; a restarted server resumes from it
and runs only the rounds that remain. ``app`` is the ServerApp of built-in runs, the one a
SuperLink names (``serverapp = "pocketml.federated.server_app:app"``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid, ServerApp

from pocketml.federated.builtin import BuiltinTask
from pocketml.federated.fleet import RoundTraffic
from pocketml.federated.grace import GraceGrid
from pocketml.federated.records import from_record, to_record
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.strategies import UpdateGate, make_strategy
from pocketml.federated.task import Task
from pocketml.federated.traffic import CountingGrid
from pocketml.outputs import atomic_path, write_atomic


@dataclass
class ServerHooks:
    """What the caller wants from the server: a per-round callback and the run's outcome.

    ``metric[r]``: the task's central figure after round r (0: before any round; absent when the
    task has none); ``train_metrics[r]``: the strategy's aggregate of the clients' reply metrics.
    """

    on_round: Callable[[int, float | None], None] | None = None
    checkpoint: Path | None = None
    strategy: UpdateGate | None = None
    metric: dict[int, float] = field(default_factory=dict)
    train_metrics: dict[int, dict[str, float]] = field(default_factory=dict)
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    resumed_from: int = 0
    epsilon: float | None = None
    noise_multiplier: float | None = None
    personal: list[tuple[int, int, float, float]] = field(default_factory=list)  # (client, n, global, personal)
    run_config: dict | None = None  # overrides the context's (Flower's run_simulation passes none)
    count_traffic: bool = False  # wrap the Grid in a CountingGrid (a transport that does not count)
    traffic: list[RoundTraffic] = field(default_factory=list)


def save_checkpoint(path: Path, server_round: int, arrays: dict[str, np.ndarray], history: dict[int, float]) -> None:
    """Atomic: write ``path``.tmp then rename, so a crash leaves the previous checkpoint whole."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{f"w:{k}": v for k, v in arrays.items()}, round=np.int64(server_round),
                 history=np.array(json.dumps({str(k): v for k, v in history.items()})))


def load_checkpoint(path: Path) -> tuple[int, dict[str, np.ndarray], dict[int, float]]:
    with np.load(path) as z:
        arrays = {k[2:]: z[k] for k in z.files if k.startswith("w:")}
        history = {int(k): float(v) for k, v in json.loads(str(z["history"])).items()}
        return int(z["round"]), arrays, history


def personalize_fleet(grid: Grid, arrays: dict[str, np.ndarray], epochs: int) -> list[tuple[int, int, float, float]]:
    """Ask every online client to score the global model and its locally personalized head."""
    config = ConfigRecord({"personalize-epochs": epochs})
    messages = [Message(RecordDict({"arrays": to_record(arrays), "config": config}), node, MessageType.EVALUATE)
                for node in grid.get_node_ids()]
    out = []
    for reply in grid.send_and_receive(messages, timeout=3600.0):
        if not reply.has_error():
            m = reply.content["metrics"]
            out.append((int(m["partition-id"]), int(m["num-examples"]), float(m["accuracy"]),
                        float(m["personal-accuracy"])))
    return sorted(out)


def build_server_app(make_task: Callable[[FederatedSpec], Task], hooks: ServerHooks | None = None) -> ServerApp:
    """The ServerApp around ``make_task(spec)``; ``hooks`` collects what it measured (see ServerHooks)."""
    hooks = hooks if hooks is not None else ServerHooks()
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        config = {**context.run_config, **(hooks.run_config or {})}
        spec = FederatedSpec.from_run_config(config).validate()
        task = make_task(spec)
        grid = _wrap_grid(grid, spec, config, hooks)
        checkpoint = hooks.checkpoint or (Path(str(config["checkpoint"])) if config.get("checkpoint") else None)
        arrays, done = task.initial_arrays(spec), 0
        if checkpoint is not None and checkpoint.exists():
            done, arrays, hooks.metric = load_checkpoint(checkpoint)
            hooks.resumed_from = done
        strategy = make_strategy(spec)
        hooks.strategy = strategy  # type: ignore[assignment]
        hooks.final_arrays = arrays
        if spec.rounds > done:
            result = strategy.start(grid, to_record(arrays), num_rounds=spec.rounds - done,
                                    timeout=float(config.get("round-timeout", 3600.0)),
                                    train_config=ConfigRecord({"lr": spec.lr}),
                                    evaluate_fn=_central(task, hooks, done, checkpoint))
            hooks.train_metrics = {int(r): {k: float(v) for k, v in record.items()}
                                   for r, record in result.train_metrics_clientapp.items()}
        if spec.personalize > 0:
            hooks.personal = personalize_fleet(grid, hooks.final_arrays, spec.personalize)
        inner = strategy.strategy
        if hasattr(inner, "privacy_spent") and inner.privacy_spent() is not None:
            hooks.epsilon = float(inner.privacy_spent().epsilon)
            hooks.noise_multiplier = float(inner.noise_multiplier)
        if config.get("report"):  # deployments: the SuperLink side writes what it saw
            _write_report(Path(str(config["report"])), hooks, strategy, grid)

    return app


def _wrap_grid(grid: Grid, spec: FederatedSpec, config: dict, hooks: ServerHooks) -> Grid:
    """The Grid as the run needs it: counting bytes (a transport that does not), and not waiting for dead nodes."""
    if hooks.count_traffic:
        grid = CountingGrid(grid, expect_nodes=spec.clients, seed=spec.seed)
        hooks.traffic = grid.traffic
    if float(config.get("round-grace", 0)) > 0:  # deployments: don't wait a minute for dead nodes
        grid = GraceGrid(grid, factor=float(config["round-grace"]))
    return grid


def _central(task: Task, hooks: ServerHooks, done: int, checkpoint: Path | None
             ) -> Callable[[int, ArrayRecord], MetricRecord | None]:
    """The strategy's ``evaluate_fn``: the task's figure of the global model, recorded (round ``done + r``),
    the model kept as the final one and checkpointed."""
    def central(server_round: int, record: ArrayRecord) -> MetricRecord | None:
        weights = from_record(record)
        value = task.evaluate(weights)
        absolute = done + server_round
        if value is not None and (server_round > 0 or done == 0):
            hooks.metric[absolute] = value
        if server_round > 0:
            hooks.final_arrays = weights
            if checkpoint is not None:
                save_checkpoint(checkpoint, absolute, weights, hooks.metric)
            if hooks.on_round is not None:
                hooks.on_round(absolute, value)
        return MetricRecord({"metric": value}) if value is not None else None

    return central


def _write_report(path: Path, hooks: ServerHooks, strategy: UpdateGate, grid: Grid) -> None:
    gate = strategy.log
    history = [hooks.metric[r] for r in sorted(hooks.metric) if r > 0]
    write_atomic(path, json.dumps({"accuracy": history,
                                   "rejected": len(gate.rejections),
                                   "clients_per_round": [gate.accepted.get(r, 0) for r in sorted(gate.sampled)],
                                   "sampled_per_round": [gate.sampled[r] for r in sorted(gate.sampled)],
                                   "failed_per_round": [gate.failed.get(r, 0) for r in sorted(gate.sampled)],
                                   "gave_up_waiting": list(getattr(grid, "cut_short", []))}))


app = build_server_app(BuiltinTask.from_spec)
