"""``run()``: one federated simulation from settings to a result, for any task.

    FederatedSpec + task ─▶ simulate (simulation.py: the one ClientApp on a simulated Grid, the one
                            ServerApp behind the UpdateGate), or run_regions (hierarchy.py)
                         ─▶ FederatedResult (the built-in task) or TaskResult (your model)
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from pocketml.energy.carbon import maybe_track_emissions
from pocketml.errors import PocketMLError
from pocketml.federated.builtin import BuiltinTask
from pocketml.federated.fleet import FleetProfile, RoundTraffic
from pocketml.federated.hierarchy import Regions, region_members, run_regions
from pocketml.federated.ray_backend import RayOptions
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.federated.simulation import Simulation, quiet, simulate
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.strategies import Rejection
from pocketml.federated.task import ModelTask, load_arrays

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class FederatedResult:
    """What a federated run measured. Bytes are Flower's serialized wire bytes (see records.py).

    ``accuracy[i]`` is the global model's accuracy on the test split after round ``i + 1``
    (``initial_accuracy`` before any round); ``bytes_up[i]`` / ``bytes_down[i]`` are the client →
    server and server → client bytes of round ``i + 1``.
    """

    spec: FederatedSpec
    accuracy: tuple[float, ...]
    initial_accuracy: float | None
    bytes_up: tuple[int, ...]
    bytes_down: tuple[int, ...]
    wall_time_s: float
    rounds: tuple[RoundTraffic, ...]
    rejected: tuple[Rejection, ...]
    skipped_rounds: tuple[int, ...]
    epsilon: float | None
    noise_multiplier: float | None
    peak_rss_bytes: int
    resumed_from: int = 0
    personal: tuple[tuple[int, int, float, float], ...] = ()
    carbon: dict[str, Any] | None = None  # CarbonRecord.to_dict() of the training, None when not tracked
    backend: str = "local"  # where the ClientApps ran: "local" (this process) or "ray" (Ray actors)
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def total_bytes_up(self) -> int:
        return sum(self.bytes_up)

    @property
    def total_bytes_down(self) -> int:
        return sum(self.bytes_down)

    @property
    def final_accuracy(self) -> float:
        return self.accuracy[-1] if self.accuracy else float("nan")

    def model(self) -> nn.Module:
        """The final global model as a PyTorch module (eval mode), ready for ``pocketml.shrink``."""
        return BuiltinTask.from_spec(self.spec).model(self.final_arrays)

    @classmethod
    def of(cls, sim: Simulation) -> FederatedResult:
        hooks, gate = sim.hooks, sim.hooks.strategy
        return cls(
            spec=sim.spec,
            accuracy=tuple(hooks.metric[r] for r in sorted(hooks.metric) if r > 0),
            initial_accuracy=hooks.metric.get(0),
            bytes_up=sim.bytes_up,
            bytes_down=sim.bytes_down,
            wall_time_s=sim.wall_time_s,
            rounds=sim.rounds,
            rejected=tuple(gate.log.rejections) if gate else (),
            skipped_rounds=tuple(gate.log.skipped_rounds) if gate else (),
            epsilon=hooks.epsilon,
            noise_multiplier=hooks.noise_multiplier,
            peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            resumed_from=hooks.resumed_from,
            personal=tuple(hooks.personal),
            final_arrays=hooks.final_arrays,
            backend=sim.backend,
        )

    def to_json(self) -> dict[str, Any]:
        spec = self.spec.to_run_config()
        return {
            "spec": spec,
            "accuracy": list(self.accuracy),
            "initial_accuracy": self.initial_accuracy,
            "final_accuracy": self.final_accuracy,
            "bytes_up": self.total_bytes_up,
            "bytes_down": self.total_bytes_down,
            "bytes_up_per_round": list(self.bytes_up),
            "bytes_down_per_round": list(self.bytes_down),
            "wall_time_s": round(self.wall_time_s, 3),
            "seconds_per_round": round(self.wall_time_s / max(len(self.rounds), 1), 3),
            "rounds": [vars(r) for r in self.rounds],
            "rejected": [vars(r) for r in self.rejected],
            "skipped_rounds": list(self.skipped_rounds),
            "epsilon": self.epsilon,
            "delta": self.spec.dp_delta if self.epsilon is not None else None,
            "noise_multiplier": self.noise_multiplier,
            "peak_rss_bytes": self.peak_rss_bytes,
            "resumed_from": self.resumed_from,
            "personalization": self.personalization(),
            "carbon": self.carbon,
            "backend": self.backend,
        }

    def personalization(self) -> dict[str, Any] | None:
        """Per client: held-out accuracy of the global model and of the local-head model; means."""
        if not self.personal:
            return None
        n = sum(row[1] for row in self.personal)
        return {
            "clients": [dict(client=c, n=k, global_accuracy=g, personal_accuracy=p) for c, k, g, p in self.personal],
            "mean_global_accuracy": sum(row[2] * row[1] for row in self.personal) / n,
            "mean_personal_accuracy": sum(row[3] * row[1] for row in self.personal) / n,
        }


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

    @classmethod
    def flat(cls, sim: Simulation, model_fn: Callable[[], nn.Module]) -> TaskResult:
        """From a flat simulation: ``metric`` is the task's figure per round, else the training loss."""
        hooks, losses = sim.hooks, sim.train_loss
        return cls(clients=sim.spec.clients, regions=1, rounds=sim.spec.rounds,
                   metric=tuple(hooks.metric[r] for r in sorted(hooks.metric) if r > 0) or losses,
                   initial_metric=hooks.metric.get(0), train_loss=losses, bytes_up=sim.bytes_up,
                   bytes_down=sim.bytes_down, region_top_up=0, region_top_down=0, wall_time_s=sim.wall_time_s,
                   spec=sim.spec, final_arrays=hooks.final_arrays, model_fn=model_fn)

    @classmethod
    def hierarchical(cls, out: Regions, spec: FederatedSpec, model_fn: Callable[[], nn.Module]) -> TaskResult:
        return cls(clients=spec.clients, regions=out.regions, rounds=spec.rounds, metric=out.metric,
                   initial_metric=out.initial_metric, train_loss=out.train_loss, bytes_up=out.bytes_up,
                   bytes_down=out.bytes_down, region_top_up=out.region_top_up, region_top_down=out.region_top_down,
                   wall_time_s=out.wall_time_s, spec=spec, final_arrays=out.final_arrays, model_fn=model_fn)

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


def run(spec: FederatedSpec | None = None, *, fleet: FleetProfile | None = None,
        checkpoint: str | Path | None = None, progress: bool = False, verbose: bool = False,
        model_fn: Callable[[], nn.Module] | None = None,
        client_data_fn: Callable[[int], Sequence[np.ndarray]] | None = None,
        loss_fn: Callable[..., torch.Tensor] | None = None, eval_fn: Callable[[nn.Module], float] | None = None,
        optimizer: str = "adam", groups: Sequence[int] | np.ndarray | None = None, region_rounds: int = 1,
        server_optimizer: ServerOptimizer | None = None, backend: str = "local", ray: RayOptions | None = None,
        **settings: Any) -> FederatedResult | TaskResult:
    """Simulate federated training with Flower: a built-in model on a built-in dataset, or yours.

    Pass a FederatedSpec or its fields as keywords (``run(clients=100, partition="dirichlet:0.5",
    compress="int8-topk")``). ``fleet`` sets availability, dropouts and stragglers;
    ``checkpoint`` is an .npz path written each round and resumed from if it exists;
    ``verbose`` shows Flower's own log lines (else only its errors).

    ``backend``: ``"local"`` (default: ``LocalFleet``, every ClientApp in this process) or ``"ray"``
    (Flower's simulation runtime, ClientApps in Ray actors, for large fleets or a Ray cluster;
    ``ray`` = ``RayOptions``: cluster address, CPUs/GPUs per client). Same apps, same Result, bytes
    counted the same way; the ray backend simulates an always-online fleet (no ``fleet`` profile).

    Your own model and data (returns a ``TaskResult``; the task is a ``ModelTask``, task.py):
    ``model_fn()`` → a fresh module, ``client_data_fn(partition_id)`` → that client's sample-first
    arrays, ``loss_fn(model, *batch)`` → scalar, optional ``eval_fn(model)`` → float after each
    round, ``optimizer`` "adam"/"sgd"; ``groups[client]`` = region label trains cell → region → top
    (``region_rounds`` rounds inside each region per top round); ``server_optimizer`` (a
    ``ServerOptimizer``: FedAvgM/FedAdam at the top of that hierarchy; default None = FedAvg).
    The same ClientApp and ServerApp run both kinds of task (client_app.py, server_app.py).

    Either way the training is measured with codecarbon when it is installed and ``POCKETML_CARBON``
    is not ``off``: the result's ``carbon`` (and ``to_json()["carbon"]``) is the CarbonRecord as a
    dict (stage "federated"), else None.
    """
    task = _custom_task(model_fn, client_data_fn, loss_fn, eval_fn, optimizer, backend, groups, server_optimizer)
    spec = spec or FederatedSpec(**settings)
    if task is not None:
        if checkpoint is not None and groups is not None:
            raise PocketMLError("a checkpoint is for flat runs, not a cell → region → top hierarchy",
                                "drop checkpoint=..., or groups=...")
        if spec.personalize:
            raise PocketMLError("personalization is for the built-in datasets", "pass personalize=0 with model_fn")
        spec = replace(spec, dataset=FederatedSpec.dataset, model=FederatedSpec.model)
    spec = spec.validate()
    fleet = (fleet or FleetProfile()).validate()
    ray = _ray_options(backend, ray, fleet)
    (task or BuiltinTask.from_spec(spec)).check(spec)
    members = region_members(groups, spec.clients) if groups is not None else None
    with _progress(spec, progress) as on_round, quiet(verbose), maybe_track_emissions("federated") as carbon:
        if members is not None:
            result: FederatedResult | TaskResult = TaskResult.hierarchical(
                run_regions(spec, members, task, region_rounds=region_rounds, fleet=fleet,
                            server_optimizer=server_optimizer, on_round=on_round), spec, task.model_fn)
        else:
            sim = simulate(spec, task, fleet=fleet, checkpoint=checkpoint, ray=ray, on_round=on_round)
            result = FederatedResult.of(sim) if task is None else TaskResult.flat(sim, task.model_fn)
    return replace(result, carbon=carbon.value.to_dict() if carbon.value is not None else None)


def _custom_task(model_fn, client_data_fn, loss_fn, eval_fn, optimizer: str, backend: str, groups,
                 server_optimizer: ServerOptimizer | None) -> ModelTask | None:
    """The caller's ModelTask (checked), or None for the built-in task; refuses what only one kind supports."""
    if model_fn is None and client_data_fn is None and loss_fn is None:
        if groups is not None or server_optimizer is not None:
            raise PocketMLError("groups (a cell → region hierarchy) and server_optimizer are for custom model runs "
                                "here", "use pocketml.federated.hierarchy.run_hierarchical for the built-in datasets")
        return None
    if model_fn is None or client_data_fn is None or loss_fn is None:
        raise PocketMLError("a custom federated run needs model_fn, client_data_fn and loss_fn",
                            "pass all three functions, or none of them for the built-in dataset path")
    if backend != "local":
        raise PocketMLError("a custom model run (model_fn=...) runs on the local backend only",
                            "drop backend='ray', or use a built-in dataset for the ray backend")
    if server_optimizer is not None:
        if groups is None:
            raise PocketMLError("server_optimizer is for the cell → region → top hierarchy",
                                "pass groups=... (one region label per client), or drop server_optimizer")
        server_optimizer.check()
    return ModelTask(model_fn, client_data_fn, loss_fn, eval_fn, optimizer).check()


def _ray_options(backend: str, ray: RayOptions | None, fleet: FleetProfile) -> RayOptions | None:
    if backend not in BACKENDS:
        raise PocketMLError(f"unknown backend '{backend}'", f"use one of: {', '.join(BACKENDS)}")
    if backend == "ray":
        if fleet != FleetProfile():
            raise PocketMLError("the ray backend simulates an always-online fleet",
                                "drop --online-hours/--dropout/--stragglers/--round-timeout, or use --backend local")
        return (ray or RayOptions()).validate()
    if ray is not None:
        raise PocketMLError("Ray options were given for the local backend", "pass backend='ray' (--backend ray)")
    return None


@contextmanager
def _progress(spec: FederatedSpec, show: bool) -> Iterator[Callable[[int, float | None], None]]:
    """A rich progress bar over the rounds; yields the per-round callback that moves it."""
    with Progress(TextColumn("[bold]federated[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} rounds"), TimeElapsedColumn(),
                  transient=True, disable=not show) as bar:
        job = bar.add_task(f"{spec.strategy}, {spec.clients} clients", total=spec.rounds)

        def on_round(server_round: int, value: float | None) -> None:
            figure = f" {value:.4g}" if value is not None else ""
            bar.update(job, completed=server_round, description=f"{spec.strategy}: round {server_round}{figure}")

        yield on_round
