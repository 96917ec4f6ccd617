"""``run()``: one federated simulation from settings to a FederatedResult.

    FederatedSpec ─▶ LocalFleet (Grid, N virtual SuperNodes running the ClientApp)
                  ─▶ ServerApp (strategy behind the UpdateGate, central test evaluation)
                  ─▶ FederatedResult (accuracy per round, bytes per round and link, wall time)
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from flwr.app import Context, RecordDict
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from pocketml.energy.carbon import maybe_track_emissions
from pocketml.errors import PocketMLError
from pocketml.federated import ray_backend
from pocketml.federated.client_app import app as client_app
from pocketml.federated.client_app import with_run_config
from pocketml.federated.fleet import FleetProfile, LocalFleet, RoundTraffic
from pocketml.federated.model_task import ModelTask, TaskResult, run_task
from pocketml.federated.ray_backend import RayOptions
from pocketml.federated.server_app import ServerHooks, build_server_app
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.strategies import Rejection
from pocketml.federated.task import build_model, check_clients, load_arrays

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
        return load_arrays(build_model(self.spec), self.final_arrays).eval()

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
    ``verbose`` shows Flower's own log lines (warnings, e.g. rejected updates, always show).

    ``backend``: ``"local"`` (default: ``LocalFleet``, every ClientApp in this process) or ``"ray"``
    (Flower's simulation runtime, ClientApps in Ray actors, for large fleets or a Ray cluster;
    ``ray`` = ``RayOptions``: cluster address, CPUs/GPUs per client). Same apps, same Result, bytes
    counted the same way; the ray backend simulates an always-online fleet (no ``fleet`` profile).

    Your own model and data (returns a ``TaskResult``; see ``pocketml.federated.model_task``):
    ``model_fn()`` → a fresh module, ``client_data_fn(partition_id)`` → that client's sample-first
    arrays, ``loss_fn(model, *batch)`` → scalar, optional ``eval_fn(model)`` → float after each
    round, ``optimizer`` "adam"/"sgd"; ``groups[client]`` = region label trains cell → region → top
    (``region_rounds`` rounds inside each region per top round); ``server_optimizer`` (a
    ``ServerOptimizer``: FedAvgM/FedAdam at the top of that hierarchy; default None = FedAvg).

    Either way the training is measured with codecarbon when it is installed and ``POCKETML_CARBON``
    is not ``off``: the result's ``carbon`` (and ``to_json()["carbon"]``) is the CarbonRecord as a
    dict (stage "federated"), else None.
    """
    if model_fn is not None or client_data_fn is not None or loss_fn is not None:
        if model_fn is None or client_data_fn is None or loss_fn is None or checkpoint is not None:
            raise PocketMLError("a custom federated run needs model_fn, client_data_fn and loss_fn (no checkpoint)",
                                "pass all three functions, or none of them for the built-in dataset path")
        if backend != "local":
            raise PocketMLError("a custom model run (model_fn=...) runs on the local backend only",
                                "drop backend='ray', or use a built-in dataset for the ray backend")
        task = ModelTask(model_fn, client_data_fn, loss_fn, eval_fn, optimizer)
        return run_task(task, spec or FederatedSpec(**settings), groups=groups, region_rounds=region_rounds,
                        fleet=fleet, progress=progress, verbose=verbose, server_optimizer=server_optimizer)
    if groups is not None or server_optimizer is not None:
        raise PocketMLError("groups (a cell → region hierarchy) and server_optimizer are for custom model runs here",
                            "use pocketml.federated.hierarchy.run_hierarchical for the built-in datasets")
    spec = (spec or FederatedSpec(**settings)).validate()
    fleet = (fleet or FleetProfile()).validate()
    check_clients(spec)
    if backend not in BACKENDS:
        raise PocketMLError(f"unknown backend '{backend}'", f"use one of: {', '.join(BACKENDS)}")
    if backend == "ray":
        if fleet != FleetProfile():
            raise PocketMLError("the ray backend simulates an always-online fleet",
                                "drop --online-hours/--dropout/--stragglers/--round-timeout, or use --backend local")
        ray = (ray or RayOptions()).validate()
    elif ray is not None:
        raise PocketMLError("Ray options were given for the local backend", "pass backend='ray' (--backend ray)")
    flwr_logger, threads = logging.getLogger("flwr"), torch.get_num_threads()
    level = flwr_logger.level
    flwr_logger.setLevel(logging.INFO if verbose else logging.ERROR)
    torch.set_num_threads(1)  # tiny models: one thread is ~20x faster than two under load
    try:
        with maybe_track_emissions("federated") as carbon:
            result = _simulate(spec, fleet, checkpoint, progress, ray)
        return replace(result, carbon=carbon.value.to_dict() if carbon.value is not None else None)
    finally:
        flwr_logger.setLevel(level)
        torch.set_num_threads(threads)


def _simulate(spec: FederatedSpec, fleet: FleetProfile, checkpoint: str | Path | None,
              progress: bool, ray: RayOptions | None) -> FederatedResult:
    with Progress(TextColumn("[bold]federated[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} rounds"), TimeElapsedColumn(),
                  transient=True, disable=not progress) as bar:
        task = bar.add_task(f"{spec.strategy}, {spec.clients} clients", total=spec.rounds)

        def on_round(server_round: int, acc: float) -> None:
            bar.update(task, completed=server_round, description=f"{spec.strategy}: round {server_round} acc {acc:.3f}")

        hooks = ServerHooks(on_round=on_round, checkpoint=Path(checkpoint) if checkpoint else None)
        run_config = spec.to_run_config()
        run_config["round-timeout"] = fleet.round_timeout if math.isfinite(fleet.round_timeout) else 1e9
        start = time.perf_counter()
        if ray is None:
            grid = LocalFleet(client_app, spec.clients, run_config, fleet, seed=spec.seed)
            build_server_app(hooks)(grid, Context(run_id=1, node_id=0, node_config={}, state=RecordDict(),
                                                  run_config=run_config))
            traffic = grid.traffic
        else:  # seeded as LocalFleet: node sampling in the CountingGrid (its own `random` stream), DP noise here
            np.random.seed(spec.seed)
            hooks.run_config, hooks.count_traffic = run_config, True
            ray_backend.simulate(build_server_app(hooks), with_run_config(run_config), spec.clients, ray)
            traffic = hooks.traffic
        wall = time.perf_counter() - start
    train = tuple(t for t in traffic if t.round > 0)
    gate = hooks.strategy
    return FederatedResult(
        spec=spec,
        accuracy=tuple(hooks.accuracy[r] for r in sorted(hooks.accuracy) if r > 0),
        initial_accuracy=hooks.accuracy.get(0),
        bytes_up=tuple(t.bytes_up for t in train),
        bytes_down=tuple(t.bytes_down for t in train),
        wall_time_s=wall,
        rounds=train,
        rejected=tuple(gate.log.rejections) if gate else (),
        skipped_rounds=tuple(gate.log.skipped_rounds) if gate else (),
        epsilon=hooks.epsilon,
        noise_multiplier=hooks.noise_multiplier,
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        resumed_from=hooks.resumed_from,
        personal=tuple(hooks.personal),
        final_arrays=hooks.final_arrays,
        backend="local" if ray is None else "ray",
    )
