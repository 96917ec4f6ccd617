"""Hierarchical federated learning: cells → regions → top, with the bytes on each link.

Any task (task.py) runs this way: each region is its own Flower Grid (a LocalFleet over the
region's cells, i.e. clients, running the one ClientApp) driven by the same strategy behind the
same UpdateGate: it starts from the top's global model, runs
``region_rounds`` rounds with its cells, and sends its regional model up. The top averages the
regional models weighted by their training samples (FedAvg one level up) and sends the result
back down. Bytes are counted as Flower serializes the messages on both links:

    cell ⇄ region   the regions' LocalFleet traffic (every client message)
    region ⇄ top    one ArrayRecord message per region each way per round

This is the shape the wildfire application needs (stations → regional hub → utility).

    run_regions(spec, members, task)   any task, regions given as client ids → Regions
    run_hierarchical(spec, regions)    the built-in task, contiguous regions (--regions) → HierarchyResult
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, Message, MessageType, RecordDict
from flwr.serverapp.strategy import Result

from pocketml.errors import PocketMLError
from pocketml.federated.builtin import check_clients
from pocketml.federated.client_app import build_client_app
from pocketml.federated.fleet import FleetProfile, LocalFleet
from pocketml.federated.records import from_record, to_record, wire_bytes
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.federated.simulation import quiet, run_config, task_maker
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.strategies import make_strategy
from pocketml.federated.task import Task


@dataclass(frozen=True)
class HierarchyResult:
    """Accuracy after each top round and the bytes on each link (totals over the run)."""

    regions: int
    accuracy: tuple[float, ...]
    cell_region_up: int
    cell_region_down: int
    region_top_up: int
    region_top_down: int
    wall_time_s: float

    def to_json(self) -> dict[str, Any]:
        return {"regions": self.regions, "accuracy": list(self.accuracy),
                "bytes": {"cell_to_region": self.cell_region_up, "region_to_cell": self.cell_region_down,
                          "region_to_top": self.region_top_up, "top_to_region": self.region_top_down},
                "wall_time_s": round(self.wall_time_s, 3)}


@dataclass(frozen=True)
class RegionRounds:
    """Outcome of :func:`federate_regions`: the final top model and the region ⇄ top bytes."""

    arrays: dict[str, np.ndarray]
    region_top_up: int
    region_top_down: int


def federate_regions(spec: FederatedSpec, fleets: list[LocalFleet], weights: np.ndarray,
                     arrays: dict[str, np.ndarray], *, region_rounds: int = 1,
                     on_round: Callable[[int, dict[str, np.ndarray], list[Result]], None] | None = None,
                     server_optimizer: ServerOptimizer | None = None) -> RegionRounds:
    """The cell → region → top loop: ``spec.rounds`` top rounds; in each, every region's fleet runs
    ``region_rounds`` rounds of ``make_strategy(spec)`` from the top model, and the top averages the
    regional models weighted by ``weights`` (samples per region). ``on_round(round, top_arrays,
    region_results)`` after each top round. Used by :func:`run_regions`.

    ``server_optimizer`` (server_optimizer.py; default None = the plain weighted average): the top
    steps FedAvgM or FedAdam with (global - average of the regional models) as the pseudo-gradient;
    its moments live here, across top rounds (the regions' strategies are fresh every top round)."""
    global_arrays, up_top, down_top = arrays, 0, 0
    share = np.asarray(weights, np.float64) / np.sum(weights)
    top = server_optimizer.start(spec.rounds) if server_optimizer is not None else None
    for top_round in range(1, spec.rounds + 1):
        down = Message(RecordDict({"arrays": to_record(global_arrays)}), 0, MessageType.TRAIN)
        down_top += wire_bytes(down) * len(fleets)
        regional, results = [], []
        for fleet in fleets:
            result = make_strategy(spec).start(fleet, to_record(global_arrays), num_rounds=region_rounds,
                                               train_config=ConfigRecord({"lr": spec.lr}))
            results.append(result)
            regional.append(from_record(result.arrays) if len(result.arrays) else global_arrays)
            up_top += wire_bytes(Message(RecordDict({"arrays": to_record(regional[-1])}), 0, MessageType.TRAIN))
        averaged = {k: sum(w * r[k] for w, r in zip(share, regional, strict=True)).astype(np.float32)
                    for k in global_arrays}
        global_arrays = averaged if top is None else top.step(global_arrays, averaged)
        if on_round is not None:
            on_round(top_round, global_arrays, results)
    return RegionRounds(global_arrays, up_top, down_top)


@dataclass(frozen=True)
class Regions:
    """What :func:`run_regions` measured, per top round: the task's figure of the global model (the
    regions' mean training loss when the task has none), that loss, and the cell ⇄ region bytes."""

    regions: int
    metric: tuple[float, ...]
    initial_metric: float | None
    train_loss: tuple[float, ...]
    bytes_up: tuple[int, ...]
    bytes_down: tuple[int, ...]
    region_top_up: int
    region_top_down: int
    final_arrays: dict[str, np.ndarray]
    wall_time_s: float


def region_members(groups: Sequence[int] | np.ndarray, clients: int) -> list[tuple[int, ...]]:
    """Client ids of each region, regions in order of their label; checked against ``clients``."""
    labels = np.asarray(groups)
    if labels.shape != (clients,):
        raise PocketMLError(f"groups has {labels.size} entries for {clients} clients",
                            "pass one region label per client (groups[client] = region)")
    return [tuple(int(i) for i in np.flatnonzero(labels == g)) for g in np.unique(labels)]


def run_regions(spec: FederatedSpec, members: Sequence[tuple[int, ...]], task: Task | None = None, *,
                region_rounds: int = 1, fleet: FleetProfile | None = None,
                server_optimizer: ServerOptimizer | None = None,
                on_round: Callable[[int, float], None] | None = None) -> Regions:
    """``task`` (None: the built-in task of ``spec``) over cells → regions → top: region ``r`` is a
    LocalFleet over the cells ``members[r]`` running the one ClientApp; :func:`federate_regions` drives them."""
    start = time.perf_counter()
    make_task = task_maker(task)
    job = make_task(spec)
    client_app = build_client_app(make_task)
    config = run_config(spec, fleet or FleetProfile())
    fleets = [LocalFleet(client_app, len(m), config, fleet or FleetProfile(), seed=spec.seed + r, partition_ids=m)
              for r, m in enumerate(members)]
    weights = np.array([sum(job.examples(i) for i in m) for m in members], np.float64)
    arrays = job.initial_arrays(spec)
    initial = job.evaluate(arrays)
    metric: list[float] = []
    losses: list[float] = []

    def after_round(rnd: int, global_arrays: dict[str, np.ndarray], results: list[Result]) -> None:
        last = [(w, r.train_metrics_clientapp[max(r.train_metrics_clientapp)])
                for w, r in zip(weights, results, strict=True) if r.train_metrics_clientapp]
        trained = [(w, m) for w, m in last if "train-loss" in m]  # a task's replies may carry no loss
        loss = float(np.average([float(m["train-loss"]) for _, m in trained], weights=[w for w, _ in trained])
                     ) if trained else float("nan")
        losses.append(loss)
        value = job.evaluate(global_arrays)
        metric.append(value if value is not None else loss)
        if on_round is not None:
            on_round(rnd, metric[-1])

    out = federate_regions(spec, fleets, weights, arrays, region_rounds=region_rounds, on_round=after_round,
                           server_optimizer=server_optimizer)
    traffic = [t for f in fleets for t in f.traffic if t.round > 0]  # fleet rounds 1.. rounds x region_rounds
    up = tuple(sum(t.bytes_up for t in traffic if (t.round - 1) // region_rounds == r) for r in range(spec.rounds))
    down = tuple(sum(t.bytes_down for t in traffic if (t.round - 1) // region_rounds == r) for r in range(spec.rounds))
    return Regions(len(members), tuple(metric), initial, tuple(losses), up, down, out.region_top_up,
                   out.region_top_down, out.arrays, time.perf_counter() - start)


def run_hierarchical(spec: FederatedSpec, regions: int, region_rounds: int = 1) -> HierarchyResult:
    """The built-in task over cells (``spec.clients``, split into ``regions`` contiguous groups) → regions → top."""
    spec = spec.validate()
    check_clients(spec)
    if not 1 <= regions <= spec.clients:
        raise PocketMLError(f"{regions} regions for {spec.clients} cells", "use between 1 and --clients regions")
    if region_rounds < 1:
        raise PocketMLError(f"region_rounds {region_rounds} < 1", "pass 1 or more rounds per region")
    members = [tuple(int(i) for i in m) for m in np.array_split(np.arange(spec.clients), regions)]
    with quiet():
        out = run_regions(spec, members, region_rounds=region_rounds)
    return HierarchyResult(regions=regions, accuracy=out.metric, cell_region_up=sum(out.bytes_up),
                           cell_region_down=sum(out.bytes_down), region_top_up=out.region_top_up,
                           region_top_down=out.region_top_down, wall_time_s=out.wall_time_s)
