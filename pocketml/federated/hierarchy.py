"""Hierarchical federated learning: cells → regions → top, with the bytes on each link.

Each region is its own Flower Grid (a LocalFleet over the region's cells, i.e. clients) driven by
the same strategy behind the same UpdateGate: it starts from the top's global model, runs
``region_rounds`` rounds with its cells, and sends its regional model up. The top averages the
regional models weighted by their training samples (FedAvg one level up) and sends the result
back down. Bytes are counted as Flower serializes the messages on both links:

    cell ⇄ region   the regions' LocalFleet traffic (every client message)
    region ⇄ top    one ArrayRecord message per region each way per round

This is the shape the wildfire application needs (stations → regional hub → utility).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, Message, MessageType, RecordDict
from flwr.serverapp.strategy import Result

from pocketml.errors import PocketMLError
from pocketml.federated.client_app import app as client_app
from pocketml.federated.fleet import LocalFleet
from pocketml.federated.records import from_record, to_record, wire_bytes
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.strategies import make_strategy
from pocketml.federated.task import (
    accuracy,
    build_model,
    check_clients,
    client_indices,
    load_arrays,
    load_dataset,
    model_arrays,
)


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
    region_results)`` after each top round. Used by :func:`run_hierarchical` and by
    ``pocketml.federated.run(model_fn=..., groups=...)`` (model_task.py).

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


def run_hierarchical(spec: FederatedSpec, regions: int, region_rounds: int = 1) -> HierarchyResult:
    """Cells (``spec.clients``, split into ``regions`` contiguous groups) → regions → top."""
    import logging

    import torch

    spec = spec.validate()
    check_clients(spec)
    if not 1 <= regions <= spec.clients:
        raise PocketMLError(f"{regions} regions for {spec.clients} cells", "use between 1 and --clients regions")
    if region_rounds < 1:
        raise PocketMLError(f"region_rounds {region_rounds} < 1", "pass 1 or more rounds per region")
    flwr_logger, threads, level = logging.getLogger("flwr"), torch.get_num_threads(), logging.getLogger("flwr").level
    flwr_logger.setLevel(logging.ERROR)
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        sizes = [len(i) for i in client_indices(spec.dataset, spec.clients, spec.partition, spec.seed)]
        members = np.array_split(np.arange(spec.clients), regions)
        config = spec.to_run_config()
        fleets = [LocalFleet(client_app, len(m), config, seed=spec.seed + r, partition_ids=tuple(int(i) for i in m))
                  for r, m in enumerate(members)]
        weights = np.array([sum(sizes[i] for i in m) for m in members], dtype=np.float64)
        test = load_dataset(spec.dataset).test
        acc: list[float] = []
        out = federate_regions(spec, fleets, weights, model_arrays(build_model(spec)),
                               region_rounds=region_rounds,
                               on_round=lambda _r, arrays, _res: acc.append(
                                   accuracy(load_arrays(build_model(spec), arrays), test)))
        up_top, down_top = out.region_top_up, out.region_top_down
        return HierarchyResult(
            regions=regions, accuracy=tuple(acc),
            cell_region_up=sum(t.bytes_up for f in fleets for t in f.traffic),
            cell_region_down=sum(t.bytes_down for f in fleets for t in f.traffic),
            region_top_up=up_top, region_top_down=down_top, wall_time_s=time.perf_counter() - start)
    finally:
        flwr_logger.setLevel(level)
        torch.set_num_threads(threads)
