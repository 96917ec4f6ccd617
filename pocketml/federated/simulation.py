"""Simulate a federated run: the one ClientApp and the one ServerApp, around any task, on a simulated Grid.

    make_task ─▶ ClientApp (client_app.py) on N virtual SuperNodes ─┐
              ─▶ ServerApp (server_app.py) with ServerHooks ◀──────── Grid: LocalFleet (fleet.py, this process)
                                                                     or Flower's runtime on Ray (ray_backend.py)
              ─▶ Simulation (what the hooks collected, bytes per round, wall time)

A real deployment runs the same two apps on a SuperLink and SuperNodes (docs/federated.md); the
results (``FederatedResult``, ``TaskResult``, ``PartFleetResult``) are read from a Simulation.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from flwr.app import Context, RecordDict

from pocketml.federated import ray_backend
from pocketml.federated.builtin import BuiltinTask
from pocketml.federated.client_app import build_client_app
from pocketml.federated.fleet import FleetProfile, LocalFleet, RoundTraffic
from pocketml.federated.ray_backend import RayOptions
from pocketml.federated.server_app import ServerHooks, build_server_app
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.task import Task


@dataclass(frozen=True)
class Simulation:
    """What one simulated run measured: the server's hooks and the train rounds' traffic."""

    spec: FederatedSpec
    hooks: ServerHooks
    rounds: tuple[RoundTraffic, ...]  # train rounds only (evaluation messages are rounds < 0)
    wall_time_s: float
    backend: str

    @property
    def bytes_up(self) -> tuple[int, ...]:
        return tuple(t.bytes_up for t in self.rounds)

    @property
    def bytes_down(self) -> tuple[int, ...]:
        return tuple(t.bytes_down for t in self.rounds)

    @property
    def train_loss(self) -> tuple[float, ...]:
        """The clients' example-weighted mean training loss per round (rounds whose replies carried one)."""
        m = self.hooks.train_metrics
        return tuple(m[r]["train-loss"] for r in sorted(m) if "train-loss" in m[r])


@contextmanager
def quiet(verbose: bool = False) -> Iterator[None]:
    """Flower's log at ERROR (INFO with ``verbose``) and one torch thread (tiny models: one thread is
    ~20x faster than two under load), restored afterwards."""
    flwr_logger, threads = logging.getLogger("flwr"), torch.get_num_threads()
    level = flwr_logger.level
    flwr_logger.setLevel(logging.INFO if verbose else logging.ERROR)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        flwr_logger.setLevel(level)
        torch.set_num_threads(threads)


def run_config(spec: FederatedSpec, fleet: FleetProfile) -> dict:
    """The Flower run config of a simulated run: the spec, and the fleet's round timeout."""
    config = spec.to_run_config()
    config["round-timeout"] = fleet.round_timeout if math.isfinite(fleet.round_timeout) else 1e9
    return config


def task_maker(task: Task | None) -> Callable[[FederatedSpec], Task]:
    """How the apps get their task: built from the spec (``None``: the built-in task), or ``task`` itself."""
    return BuiltinTask.from_spec if task is None else (lambda spec: task)


def simulate(spec: FederatedSpec, task: Task | None = None, *, fleet: FleetProfile | None = None,
             checkpoint: str | Path | None = None, ray: RayOptions | None = None,
             on_round: Callable[[int, float | None], None] | None = None) -> Simulation:
    """Run ``task`` (None: the built-in task of ``spec``) for ``spec.rounds`` rounds over ``spec.clients``
    simulated clients: on ``LocalFleet`` (``ray`` None) or on Flower's simulation runtime with the
    ClientApps in Ray actors. ``on_round(round, central figure or None)`` after each round."""
    fleet = fleet or FleetProfile()
    config = run_config(spec, fleet)
    hooks = ServerHooks(on_round=on_round, checkpoint=Path(checkpoint) if checkpoint else None)
    make_task = task_maker(task)
    server_app = build_server_app(make_task, hooks)
    start = time.perf_counter()
    if ray is None:
        grid = LocalFleet(build_client_app(make_task), spec.clients, config, fleet, seed=spec.seed)
        server_app(grid, Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config=config))
        traffic = grid.traffic
    else:  # seeded as LocalFleet: node sampling in the CountingGrid (its own `random` stream), DP noise here
        np.random.seed(spec.seed)
        hooks.run_config, hooks.count_traffic = config, True
        ray_backend.simulate(server_app, build_client_app(make_task, run_config=config), spec.clients, ray)
        traffic = hooks.traffic
    wall = time.perf_counter() - start
    return Simulation(spec, hooks, tuple(t for t in traffic if t.round > 0), wall, "local" if ray is None else "ray")
