"""Federate the caller's own PyTorch model on the caller's own per-client data, on the same Flower apps.

The built-in path (``run(dataset="digits", ...)``) trains a built-in classifier on a built-in
dataset; this module is the hook for everything else (regressions, sequence models, several
input tensors, custom losses), and for a cell → region → top hierarchy:

    result = pocketml.federated.run(
        model_fn=lambda: MyNet(),                       # a fresh, identically initialised module
        client_data_fn=lambda pid: (x[pid], y[pid]),    # client pid's sample-first arrays
        loss_fn=lambda model, x, y: mse(model(x), y),   # scalar loss on one batch
        clients=4, rounds=10, groups=[0, 0, 1, 1])      # optional: client → region

    ModelTask ─▶ ClientApp (local training on client_data_fn(partition-id), optional compressed update)
              ─▶ LocalFleet (the same in-process Flower Grid as the built-in path)
              ─▶ UpdateGate + Flower strategy (make_strategy: fedavg, fedprox, krum, median, ...)
              ─▶ flat: one ServerApp over all clients; hierarchical: hierarchy.federate_regions

The ClientApp and ServerApp are built by :func:`build_client_app` / :func:`build_server_app` around
a :class:`ModelTask` (Python callables cannot travel in Flower's run config, so the task is
captured by the apps; on a real SuperNode the app module builds the same task at import time).
Strategy settings (strategy, fraction, local_epochs, lr, batch_size, compress, seed, ...) are the
fields of :class:`FederatedSpec`; its ``dataset``/``model`` fields are not used here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from pocketml.energy.carbon import maybe_track_emissions
from pocketml.errors import PocketMLError
from pocketml.federated import codec
from pocketml.federated.client_app import compress_update
from pocketml.federated.fleet import FleetProfile, LocalFleet
from pocketml.federated.hierarchy import federate_regions
from pocketml.federated.records import from_record, to_record
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.strategies import make_strategy
from pocketml.federated.task import _local_fit, load_arrays, model_arrays

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class ModelTask:
    """The caller's model, data and loss (sklearn-style: settings only, nothing runs here).

    Parameters
    ----------
    model_fn : () -> nn.Module, a fresh module; called on the server and on every client, it must
        build the same architecture each time (the server seeds torch before its first call).
    client_data_fn : (partition_id) -> tuple of sample-first numpy arrays (inputs..., targets...),
        all with the same first dimension; batches of them are passed to ``loss_fn``.
    loss_fn : (model, *batch_tensors) -> scalar tensor.
    eval_fn : optional (model) -> float, evaluated centrally on the global model before the first
        and after every round (e.g. a held-out loss); without it the round's figure is the clients'
        mean training loss.
    optimizer : "adam" [default] or "sgd" (momentum 0.9) for local training.
    """

    model_fn: Callable[[], nn.Module]
    client_data_fn: Callable[[int], Sequence[np.ndarray]]
    loss_fn: Callable[..., torch.Tensor]
    eval_fn: Callable[[nn.Module], float] | None = None
    optimizer: str = "adam"

    def check(self) -> ModelTask:
        for name in ("model_fn", "client_data_fn", "loss_fn"):
            if not callable(getattr(self, name)):
                raise PocketMLError(f"{name} is not callable", f"pass a function as {name}")
        if self.optimizer not in OPTIMIZERS:
            raise PocketMLError(f"unknown optimizer '{self.optimizer}'", f"use one of {', '.join(OPTIMIZERS)}")
        return self

    def client_arrays(self, partition_id: int) -> tuple[np.ndarray, ...]:
        """Client ``partition_id``'s arrays, checked (same first dimension, at least one sample)."""
        arrays = tuple(np.asarray(a) for a in self.client_data_fn(partition_id))
        if not arrays or len({len(a) for a in arrays}) != 1 or len(arrays[0]) == 0:
            raise PocketMLError(
                f"client_data_fn({partition_id}) returned arrays of lengths {[len(a) for a in arrays]}",
                "return a tuple of sample-first arrays with the same, non-zero number of samples",
            )
        return arrays


def train_task_local(model: nn.Module, arrays: Sequence[np.ndarray], task: ModelTask, spec: FederatedSpec, *,
                     proximal_mu: float = 0.0, seed: int = 0) -> float:
    """``spec.local_epochs`` epochs of minibatch training on ``arrays`` (the one loop, ``fit``, with the
    task's optimizer); FedProx's term when mu > 0. Returns the mean loss of the last epoch."""
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
    return _local_fit(model, tensors, task.loss_fn, spec, task.optimizer, proximal_mu, seed)


def build_client_app(task: ModelTask) -> ClientApp:
    """A Flower ClientApp training ``task``'s model on ``client_data_fn(partition-id)``.

    Replies with full weights, or (``compress`` other than "none") with an encoded delta and
    client-side error feedback kept in ``context.state``, exactly as the built-in ClientApp."""
    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        spec = FederatedSpec.from_run_config(context.run_config)
        pid = int(context.node_config["partition-id"])
        config = msg.content["config"]
        server_round = int(config["server-round"])
        start = from_record(msg.content["arrays"])
        model = load_arrays(task.model_fn(), start)
        data = task.client_arrays(pid)
        loss = train_task_local(model, data, task, spec, proximal_mu=float(config.get("proximal-mu", 0.0)),
                                seed=spec.seed * 100003 + server_round * 1009 + pid)
        metrics = MetricRecord({"num-examples": len(data[0]), "unit-weight": 1.0, "train-loss": loss})
        local = model_arrays(model)
        if spec.compress == "none":
            return Message(RecordDict({"arrays": to_record(local), "metrics": metrics}), reply_to=msg)
        layout = codec.Layout.of(start)
        delta = layout.flatten(local) - layout.flatten(start)
        payload = compress_update(context, spec, delta, layout)
        return Message(RecordDict({"update": to_record(payload), "metrics": metrics,
                                   "codec": ConfigRecord({"name": spec.compress})}), reply_to=msg)

    return app


@dataclass
class TaskHooks:
    """What the task's ServerApp reports back: figure per round, mean client loss, final weights."""

    on_round: Callable[[int, float], None] | None = None
    metric: dict[int, float] = field(default_factory=dict)
    train_loss: dict[int, float] = field(default_factory=dict)
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict)


def initial_arrays(task: ModelTask, seed: int) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    return model_arrays(task.model_fn())


def evaluate_arrays(task: ModelTask, arrays: dict[str, np.ndarray]) -> float | None:
    if task.eval_fn is None:
        return None
    with torch.no_grad():
        return float(task.eval_fn(load_arrays(task.model_fn(), arrays).eval()))


def build_server_app(task: ModelTask, hooks: TaskHooks) -> ServerApp:
    """A Flower ServerApp running ``spec.strategy`` (behind the UpdateGate) over the task's clients."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        spec = FederatedSpec.from_run_config(context.run_config)
        arrays = initial_arrays(task, spec.seed)
        hooks.final_arrays = arrays

        def central(server_round: int, record: ArrayRecord) -> MetricRecord | None:
            weights = from_record(record)
            value = evaluate_arrays(task, weights)
            if value is not None:
                hooks.metric[server_round] = value
            if server_round > 0:
                hooks.final_arrays = weights
            return MetricRecord({"metric": value}) if value is not None else None

        result = make_strategy(spec).start(grid, to_record(arrays), num_rounds=spec.rounds,
                                           timeout=float(context.run_config.get("round-timeout", 3600.0)),
                                           train_config=ConfigRecord({"lr": spec.lr}), evaluate_fn=central)
        if len(result.arrays):
            hooks.final_arrays = from_record(result.arrays)
        for rnd, record in result.train_metrics_clientapp.items():
            if "train-loss" in record:
                hooks.train_loss[int(rnd)] = float(record["train-loss"])
            if hooks.on_round is not None:
                hooks.on_round(int(rnd), hooks.metric.get(int(rnd), hooks.train_loss.get(int(rnd), float("nan"))))

    return app


@dataclass(frozen=True)
class TaskResult:
    """What a federated run of a caller's model measured. Bytes are Flower's serialized wire bytes.

    ``metric[i]``: ``eval_fn`` of the global model after round ``i + 1`` (``initial_metric`` before
    any), or the clients' mean training loss when there is no ``eval_fn``. ``train_loss[i]``: the
    clients' example-weighted mean local training loss in round ``i + 1`` (hierarchical: the mean
    over regions' last region round). ``bytes_up``/``bytes_down``: client → server (or cell →
    region) and back, per round; ``region_top_up``/``region_top_down``: totals on the region ⇄ top
    link (0 without groups).
    """

    clients: int
    regions: int
    rounds: int
    metric: tuple[float, ...]
    initial_metric: float | None
    train_loss: tuple[float, ...]
    bytes_up: tuple[int, ...]
    bytes_down: tuple[int, ...]
    region_top_up: int
    region_top_down: int
    wall_time_s: float
    spec: FederatedSpec
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    model_fn: Callable[[], nn.Module] | None = field(default=None, repr=False, compare=False)
    carbon: dict[str, Any] | None = None  # CarbonRecord.to_dict() of the training, None when not tracked

    def model(self) -> nn.Module:
        """The final global model (eval mode)."""
        if self.model_fn is None:
            raise PocketMLError("this result has no model_fn", "rebuild the model and load result.final_arrays")
        return load_arrays(self.model_fn(), self.final_arrays).eval()

    def to_json(self) -> dict[str, Any]:
        return {
            "clients": self.clients, "regions": self.regions, "rounds": self.rounds,
            "metric": list(self.metric), "initial_metric": self.initial_metric,
            "train_loss": list(self.train_loss),
            "bytes_up": sum(self.bytes_up), "bytes_down": sum(self.bytes_down),
            "bytes_up_per_round": list(self.bytes_up), "bytes_down_per_round": list(self.bytes_down),
            "bytes_region_to_top": self.region_top_up, "bytes_top_to_region": self.region_top_down,
            "wall_time_s": round(self.wall_time_s, 3), "strategy": self.spec.strategy,
            "local_epochs": self.spec.local_epochs, "lr": self.spec.lr, "batch_size": self.spec.batch_size,
            "fraction": self.spec.fraction, "compress": self.spec.compress, "seed": self.spec.seed,
            "carbon": self.carbon,
        }


def region_members(groups: Sequence[int] | np.ndarray, clients: int) -> list[tuple[int, ...]]:
    """Client ids of each region, regions in order of their label; checked against ``clients``."""
    labels = np.asarray(groups)
    if labels.shape != (clients,):
        raise PocketMLError(f"groups has {labels.size} entries for {clients} clients",
                            "pass one region label per client (groups[client] = region)")
    return [tuple(int(i) for i in np.flatnonzero(labels == g)) for g in np.unique(labels)]


def run_task(task: ModelTask, spec: FederatedSpec, *, groups: Sequence[int] | np.ndarray | None = None,
             region_rounds: int = 1, fleet: FleetProfile | None = None, progress: bool = False,
             verbose: bool = False, server_optimizer: ServerOptimizer | None = None) -> TaskResult:
    """Federate ``task`` over ``spec.clients`` clients for ``spec.rounds`` rounds (see module docstring).

    With ``groups`` (one region label per client) each top round runs ``region_rounds`` rounds
    inside every region, then the top averages the regional models weighted by their samples;
    ``server_optimizer`` (hierarchy only; default None = that average) steps FedAvgM/FedAdam at the
    top on (global - average) as the pseudo-gradient (server_optimizer.py).
    """
    task = task.check()
    if server_optimizer is not None:
        if groups is None:
            raise PocketMLError("server_optimizer is for the cell → region → top hierarchy",
                                "pass groups=... (one region label per client), or drop server_optimizer")
        server_optimizer.check()
    spec = replace(spec, dataset=FederatedSpec.dataset, model=FederatedSpec.model).validate()
    for pid in range(spec.clients):  # simulation: every client's data is here, so fail fast on bad arrays
        task.client_arrays(pid)
    fleet = (fleet or FleetProfile()).validate()
    config = spec.to_run_config()
    config["round-timeout"] = fleet.round_timeout if np.isfinite(fleet.round_timeout) else 1e9
    client_app = build_client_app(task)
    flwr_logger, threads = logging.getLogger("flwr"), torch.get_num_threads()
    level = flwr_logger.level
    flwr_logger.setLevel(logging.INFO if verbose else logging.WARNING)
    torch.set_num_threads(1)  # small models: one thread is the fast choice on a shared machine
    start = time.perf_counter()
    try:
        with Progress(TextColumn("[bold]federated[/] {task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} rounds"), TimeElapsedColumn(),
                      transient=True, disable=not progress) as bar:
            job = bar.add_task(f"{spec.strategy}, {spec.clients} clients", total=spec.rounds)

            def on_round(server_round: int, value: float) -> None:
                bar.update(job, completed=server_round, description=f"round {server_round}: {value:.4g}")

            with maybe_track_emissions("federated") as carbon:
                if groups is None:
                    result = _flat(task, spec, config, client_app, fleet, on_round, start)
                else:
                    result = _hierarchical(task, spec, config, client_app, fleet, groups, region_rounds,
                                           on_round, start, server_optimizer)
            return replace(result, carbon=carbon.value.to_dict() if carbon.value is not None else None)
    finally:
        flwr_logger.setLevel(level)
        torch.set_num_threads(threads)


def _flat(task, spec, config, client_app, fleet, on_round, start) -> TaskResult:
    hooks = TaskHooks(on_round=on_round)
    grid = LocalFleet(client_app, spec.clients, config, fleet, seed=spec.seed)
    build_server_app(task, hooks)(grid, Context(run_id=1, node_id=0, node_config={}, state=RecordDict(),
                                                run_config=config))
    train = [t for t in grid.traffic if t.round > 0]
    losses = tuple(hooks.train_loss[r] for r in sorted(hooks.train_loss))
    return TaskResult(
        clients=spec.clients, regions=1, rounds=spec.rounds,
        metric=tuple(hooks.metric[r] for r in sorted(hooks.metric) if r > 0) or losses,
        initial_metric=hooks.metric.get(0), train_loss=losses,
        bytes_up=tuple(t.bytes_up for t in train), bytes_down=tuple(t.bytes_down for t in train),
        region_top_up=0, region_top_down=0, wall_time_s=time.perf_counter() - start, spec=spec,
        final_arrays=hooks.final_arrays, model_fn=task.model_fn)


def _hierarchical(task, spec, config, client_app, fleet, groups, region_rounds, on_round, start,
                  server_optimizer=None) -> TaskResult:
    members = region_members(groups, spec.clients)
    fleets = [LocalFleet(client_app, len(m), config, fleet, seed=spec.seed + r, partition_ids=m)
              for r, m in enumerate(members)]
    weights = np.array([sum(len(task.client_arrays(i)[0]) for i in m) for m in members], np.float64)
    arrays = initial_arrays(task, spec.seed)
    initial = evaluate_arrays(task, arrays)
    metric: list[float] = []
    losses: list[float] = []

    def after_round(rnd: int, global_arrays: dict[str, np.ndarray], results) -> None:
        per_region = [r.train_metrics_clientapp[max(r.train_metrics_clientapp)] for r in results
                      if r.train_metrics_clientapp]
        loss = float(np.average([float(m["train-loss"]) for m in per_region],
                                weights=[w for w, r in zip(weights, results, strict=True) if r.train_metrics_clientapp])
                     ) if per_region else float("nan")
        losses.append(loss)
        value = evaluate_arrays(task, global_arrays)
        metric.append(value if value is not None else loss)
        on_round(rnd, metric[-1])

    out = federate_regions(spec, fleets, weights, arrays, region_rounds=region_rounds, on_round=after_round,
                           server_optimizer=server_optimizer)
    traffic = [t for f in fleets for t in f.traffic if t.round > 0]  # fleet rounds 1.. rounds x region_rounds
    per_round_up = [sum(t.bytes_up for t in traffic if (t.round - 1) // region_rounds == r) for r in range(spec.rounds)]
    per_round_down = [sum(t.bytes_down for t in traffic if (t.round - 1) // region_rounds == r)
                      for r in range(spec.rounds)]
    return TaskResult(
        clients=spec.clients, regions=len(members), rounds=spec.rounds, metric=tuple(metric),
        initial_metric=initial, train_loss=tuple(losses), bytes_up=tuple(per_round_up),
        bytes_down=tuple(per_round_down), region_top_up=out.region_top_up, region_top_down=out.region_top_down,
        wall_time_s=time.perf_counter() - start, spec=spec, final_arrays=out.arrays, model_fn=task.model_fn)
