"""Secure aggregation with Flower's SecAgg+ (``flwr.server.workflow.SecAggPlusWorkflow``).

In Flower 1.42 SecAgg+ exists only in the *legacy* workflow API: a ServerApp whose main builds a
``LegacyContext`` (legacy ``flwr.server.strategy.FedAvg`` + client manager) and runs
``DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(...))``; the ClientApp is a legacy
``ClientApp(client_fn=...)`` whose ``NumPyClient.fit`` is wrapped by ``secaggplus_mod``. The
Message-API strategies of the rest of pocketml.federated (``flwr.serverapp.strategy``) have no
SecAgg+ path, so this module is a parallel pair of apps around the *same* task
(``BuiltinTask.train`` for local training, its partitions, ``BuiltinTask.evaluate``):

    client: BuiltinTask.train ─▶ weights ─▶ secaggplus_mod (clip to ±clipping_range, quantize to
            [0, 2^22), add pairwise + self masks mod 2^32) ─▶ masked vector
    server: SecAggPlusWorkflow (4 stages per round: setup, share keys, collect masked vectors,
            unmask) ─▶ only the weighted *sum* is ever decoded ─▶ FedAvg's average

What the server sees of each client is a uniformly masked vector; dropped clients' masks are
recovered from Shamir shares (``reconstruction_threshold`` of ``num_shares``). The average
equals plain FedAvg's up to the quantization step ``2·clipping_range / 2^22`` per weight (times
the example-count weighting, itself capped at ``max_weight``).

Not combined with: compressed updates (masking needs dense vectors over a finite field), robust
aggregation (the server never sees individual updates), server-side DP (same reason); the
strategy is FedAvg only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from flwr.app import Context, RecordDict
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.common import Scalar, ndarrays_to_parameters
from flwr.server import LegacyContext, ServerApp, ServerConfig
from flwr.server.strategy import FedAvg as LegacyFedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import Grid

from pocketml.errors import PocketMLError
from pocketml.federated.builtin import BuiltinTask, check_clients, client_indices
from pocketml.federated.fleet import LocalFleet
from pocketml.federated.spec import FederatedSpec

CLIPPING_RANGE = 64.0  # weights and BatchNorm statistics of the built-in models stay well inside ±64


@dataclass(frozen=True)
class SecAggSettings:
    """SecAgg+ parameters (Flower's names). Shares/threshold as floats are shares of the sampled clients."""

    num_shares: float = 1.0
    reconstruction_threshold: float = 0.7
    clipping_range: float = CLIPPING_RANGE
    quantization_range: int = 2**22
    max_weight: float = 1000.0  # run_secagg sets it to the largest client's sample count

    @property
    def step(self) -> float:
        """Quantization step of one (weighted) weight on one client."""
        return 2 * self.clipping_range / (self.quantization_range - 1)

    def error_bound(self, examples: list[int]) -> float:
        """Largest |secure − plain| average of one weight for clients with these sample counts.

        Each client quantizes ``weight · n_i / max_weight`` with error ≤ one step; the server
        divides the sum by ``Σ n_i / max_weight``.
        """
        return len(examples) * self.step / (sum(examples) / self.max_weight)


class _TrainingClient(NumPyClient):
    """One SuperNode's client: pocketml's local SGD on its partition, weights out in state_dict order."""

    def __init__(self, spec: FederatedSpec, partition_id: int) -> None:
        self.spec = spec
        self.partition_id = partition_id

    def fit(self, parameters: list[np.ndarray], config: dict[str, Scalar]) -> tuple[list[np.ndarray], int, dict]:
        task = BuiltinTask.from_spec(self.spec)
        keys = list(task.initial_arrays(self.spec))
        server_round = int(config.get("server-round", 1))
        update = task.train(dict(zip(keys, parameters, strict=True)), self.partition_id, self.spec,
                            seed=self.spec.client_seed(server_round, self.partition_id))
        return list(update.arrays.values()), int(update.metrics["num-examples"]), {}


def _client_fn(context: Context) -> object:
    spec = FederatedSpec.from_run_config(context.run_config)
    return _TrainingClient(spec, int(context.node_config["partition-id"])).to_client()


client_app = ClientApp(client_fn=_client_fn, mods=[secaggplus_mod])


@dataclass
class SecAggHooks:
    """The server's outcome: accuracy after each round and the final weights."""

    on_round: Callable[[int, float], None] | None = None
    accuracy: dict[int, float] = field(default_factory=dict)
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict)


def build_server_app(hooks: SecAggHooks | None = None, settings: SecAggSettings | None = None) -> ServerApp:
    """A legacy-API ServerApp: FedAvg whose fit rounds run Flower's SecAgg+ workflow."""
    hooks = hooks if hooks is not None else SecAggHooks()
    settings = settings or SecAggSettings()
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        spec = FederatedSpec.from_run_config(context.run_config).validate()
        if spec.strategy != "fedavg" or spec.compress != "none" or np.isfinite(spec.dp_epsilon) or spec.attackers:
            raise PocketMLError("secure aggregation runs plain FedAvg on dense float updates",
                                "use --strategy fedavg --compress none, no --dp-epsilon and no --attack")
        task = BuiltinTask.from_spec(spec)
        keys = list(task.initial_arrays(spec))

        def central(server_round: int, parameters: list[np.ndarray], _config: dict) -> tuple[float, dict]:
            weights = dict(zip(keys, (np.asarray(p, np.float32) for p in parameters), strict=True))
            acc = task.evaluate(weights)
            if server_round > 0:
                hooks.accuracy[server_round] = acc
                hooks.final_arrays = weights
                if hooks.on_round is not None:
                    hooks.on_round(server_round, acc)
            return 0.0, {"accuracy": acc}

        per_round = spec.per_round
        strategy = LegacyFedAvg(
            fraction_fit=spec.fraction, fraction_evaluate=0.0, min_fit_clients=min(2, per_round),
            min_evaluate_clients=0, min_available_clients=min(2, spec.clients), evaluate_fn=central,
            on_fit_config_fn=lambda r: {"server-round": r},
            initial_parameters=ndarrays_to_parameters(list(task.initial_arrays(spec).values())))
        legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=spec.rounds), strategy=strategy)
        workflow = DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(
            num_shares=settings.num_shares, reconstruction_threshold=settings.reconstruction_threshold,
            clipping_range=settings.clipping_range, quantization_range=settings.quantization_range,
            max_weight=settings.max_weight))
        workflow(grid, legacy)

    return app


@dataclass(frozen=True)
class SecAggResult:
    """A SecAgg+ run: accuracy after each round, bytes each way per round (all four stages), time."""

    spec: FederatedSpec
    settings: SecAggSettings
    accuracy: tuple[float, ...]
    bytes_up: tuple[int, ...]
    bytes_down: tuple[int, ...]
    wall_time_s: float
    final_arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def final_accuracy(self) -> float:
        return self.accuracy[-1] if self.accuracy else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec.to_run_config(), "secagg": dict(vars(self.settings), step=self.settings.step),
                "accuracy": list(self.accuracy), "final_accuracy": self.final_accuracy,
                "bytes_up": sum(self.bytes_up), "bytes_down": sum(self.bytes_down),
                "bytes_up_per_round": list(self.bytes_up), "bytes_down_per_round": list(self.bytes_down),
                "wall_time_s": round(self.wall_time_s, 3)}


def run_secagg(spec: FederatedSpec | None = None, *, settings: SecAggSettings | None = None,
               on_round: Callable[[int, float], None] | None = None, **fields: Any) -> SecAggResult:
    """Simulate FedAvg with Flower's SecAgg+ on the in-process LocalFleet (same data, training, seeds)."""
    spec = (spec or FederatedSpec(**fields)).validate()
    check_clients(spec)
    if spec.per_round < 3:
        raise PocketMLError(f"SecAgg+ with {spec.per_round} client(s) per round",
                            "sample at least 3 clients per round (each needs 2 neighbours to hold its shares)")
    largest = max(len(i) for i in client_indices(spec.dataset, spec.clients, spec.partition, spec.seed))
    settings = settings or SecAggSettings(max_weight=float(largest))
    marks: list[int] = []

    def round_done(server_round: int, acc: float) -> None:
        marks.append(len(grid.traffic))
        if on_round is not None:
            on_round(server_round, acc)

    hooks = SecAggHooks(on_round=round_done)
    flwr_logger, threads = logging.getLogger("flwr"), torch.get_num_threads()
    level = flwr_logger.level
    flwr_logger.setLevel(logging.ERROR)
    torch.set_num_threads(1)
    try:
        grid = LocalFleet(client_app, spec.clients, spec.to_run_config(), seed=spec.seed)
        start = time.perf_counter()
        build_server_app(hooks, settings)(grid, Context(run_id=1, node_id=0, node_config={}, state=RecordDict(),
                                                        run_config=spec.to_run_config()))
        wall = time.perf_counter() - start
    finally:
        flwr_logger.setLevel(level)
        torch.set_num_threads(threads)
    bounds = list(zip([0, *marks[:-1]], marks, strict=True))
    return SecAggResult(spec=spec, settings=settings,
                        accuracy=tuple(hooks.accuracy[r] for r in sorted(hooks.accuracy)),
                        bytes_up=tuple(sum(t.bytes_up for t in grid.traffic[a:b]) for a, b in bounds),
                        bytes_down=tuple(sum(t.bytes_down for t in grid.traffic[a:b]) for a, b in bounds),
                        wall_time_s=wall, final_arrays=hooks.final_arrays)
