"""Strategies by name (Flower's own implementations) behind a gate that checks every update.

    UpdateGate ─▶ [DifferentialPrivacyServerSideFixedClipping ─▶] FedAvg | FedProx | Krum |
                                                                  FedTrimmedAvg | FedMedian |
                                                                  MultiKrum | Bulyan
    UpdateGate ─▶ NormBound ─▶ FedTrimmedAvg | FedMedian     (robust.py: clipped-*)
    UpdateGate ─▶ CenteredClipping (a FedAvg subclass, robust.py)

The gate is a thin Strategy wrapper: it remembers the global model it sent, decodes compressed
updates back into full weights (so Flower's aggregators see ordinary ArrayRecords), rejects and
logs updates with the wrong keys or shapes or non-finite values before they can be averaged in,
and skips a round when too few clients are online. Everything else is the inner strategy's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from logging import WARNING

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import (
    Bulyan,
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
    FedMedian,
    FedProx,
    FedTrimmedAvg,
    Krum,
    MultiKrum,
    Strategy,
)
from flwr.supercore import log
from flwr.supercore.privacy_accounting import (
    GaussianPrivacyEvent,
    NeighboringRelation,
    PrivacyConfig,
    SamplingMethod,
)
from flwr.supercore.privacy_accounting.rdp_accountant import RdpAccountant

from pocketml.errors import PocketMLError
from pocketml.federated import codec
from pocketml.federated.records import from_record, to_record
from pocketml.federated.robust import CenteredClipping, NormBound
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.wrapper import StrategyWrapper


@dataclass(frozen=True)
class Rejection:
    """An update the gate refused: which round, which node, why."""

    round: int
    node_id: int
    reason: str


@dataclass
class GateLog:
    """What the gate saw, round by round (filled while the run goes)."""

    rejections: list[Rejection] = field(default_factory=list)
    skipped_rounds: list[int] = field(default_factory=list)
    accepted: dict[int, int] = field(default_factory=dict)  # round -> updates aggregated
    sampled: dict[int, int] = field(default_factory=dict)  # round -> clients asked to train
    failed: dict[int, int] = field(default_factory=dict)  # round -> error replies (e.g. node unavailable)


class UpdateGate(StrategyWrapper):
    """Decode, check, then hand updates to ``strategy``; skip rounds with < ``min_clients`` online."""

    def __init__(self, strategy: Strategy, compress: str = "none", min_clients: int = 1) -> None:
        super().__init__(strategy)
        self.compress = compress
        self.min_clients = min_clients
        self.log = GateLog()
        self._global: dict[str, np.ndarray] = {}

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        self._global = from_record(arrays)
        online = len(list(grid.get_node_ids()))
        if online < self.min_clients:
            log(WARNING, "round %d skipped: %d client(s) online, %d needed", server_round, online, self.min_clients)
            self.log.skipped_rounds.append(server_round)
            return []
        messages = list(self.strategy.configure_train(server_round, arrays, config, grid))
        self.log.sampled[server_round] = len(messages)
        return messages

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        kept = []
        for msg in replies:
            if msg.has_error():
                self.log.failed[server_round] = self.log.failed.get(server_round, 0) + 1
                continue
            try:
                weights = self._full_weights(msg.content)
            except codec.BadUpdate as exc:
                node = int(msg.metadata.src_node_id)
                log(WARNING, "round %d: update from node %d rejected: %s", server_round, node, exc)
                self.log.rejections.append(Rejection(server_round, node, str(exc)))
                continue
            msg.content = RecordDict({"arrays": to_record(weights), "metrics": msg.content["metrics"]})
            kept.append(msg)
        self.log.accepted[server_round] = len(kept)
        if not kept:
            return None, None
        return self.strategy.aggregate_train(server_round, kept)

    def _full_weights(self, content: RecordDict) -> dict[str, np.ndarray]:
        """Full float32 weights from a reply (plain weights, or global + decoded delta); checked."""
        layout = codec.Layout.of(self._global)
        if "update" in content:
            name = str(content["codec"]["name"]) if "codec" in content else ""
            if name not in codec.CODECS or name == "none":
                raise codec.BadUpdate(f"unknown codec '{name}'")
            delta = codec.decode(name, from_record(content["update"]), layout)
            arrays = layout.unflatten(layout.flatten(self._global) + delta)
        elif "arrays" in content:
            arrays = from_record(content["arrays"])
        else:
            raise codec.BadUpdate("reply carries neither 'arrays' nor 'update'")
        if list(arrays) != list(layout.keys):
            raise codec.BadUpdate(f"tensor names {sorted(arrays)} differ from the model's")
        for key, shape in zip(layout.keys, layout.shapes, strict=True):
            if arrays[key].shape != shape:
                raise codec.BadUpdate(f"'{key}' has shape {arrays[key].shape}, the model's is {shape}")
            if not np.isfinite(arrays[key]).all():
                raise codec.BadUpdate(f"'{key}' has NaN or infinite values")
            if key.endswith("running_var") and (arrays[key] < 0).any():  # sqrt(var) would be NaN
                raise codec.BadUpdate(f"'{key}' has negative variances")
        return {k: v.astype(np.float32) for k, v in arrays.items()}


def noise_multiplier_for(epsilon: float, delta: float, rounds: int, population: int, per_round: int) -> float:
    """Smallest Gaussian noise multiplier whose RDP account over ``rounds`` stays ≤ epsilon at delta.

    Uses Flower's RDP accountant (Google's dp-accounting) without sampling amplification, the only
    mode Flower accounts for fixed clipping: a conservative bound.
    """
    def spent(z: float) -> float:
        accountant = _accountant(delta, population)
        accountant.compose(GaussianPrivacyEvent(z, per_round, population), count=rounds)
        return accountant.get_epsilon(delta)

    lo, hi = 1e-2, 1.0
    while spent(hi) > epsilon:
        hi *= 2
        if hi > 1e6:
            raise PocketMLError(f"no noise level reaches ε = {epsilon}", "pass a larger --dp-epsilon")
    for _ in range(24):  # relative precision ~1e-7
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if spent(mid) <= epsilon else (mid, hi)
    return hi


def _accountant(delta: float, population: int) -> RdpAccountant:
    return RdpAccountant(PrivacyConfig(target_delta=delta, population_size=population,
                                       neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE,
                                       sampling_method=SamplingMethod.NO_AMPLIFICATION))


def make_strategy(spec: FederatedSpec, population: int | None = None) -> Strategy:
    """Flower's strategy for ``spec.strategy``, DP-wrapped when ``spec.dp_epsilon`` is finite."""
    population = population or spec.clients
    private = math.isfinite(spec.dp_epsilon)
    common = dict(fraction_train=spec.fraction, fraction_evaluate=0.0, min_train_nodes=1,
                  min_evaluate_nodes=0, min_available_nodes=1,
                  weighted_by_key="unit-weight" if private else "num-examples")
    if spec.strategy == "fedavg":
        inner: Strategy = FedAvg(**common)
    elif spec.strategy == "fedprox":
        inner = FedProx(**common, proximal_mu=spec.proximal_mu)
    elif spec.strategy == "krum":
        inner = Krum(**common, num_malicious_nodes=spec.assumed_f)
    elif spec.strategy == "multi-krum":  # averages the n - f updates Krum scores best
        f = spec.assumed_f
        inner = MultiKrum(**common, num_malicious_nodes=f, num_nodes_to_select=max(1, spec.per_round - f))
    elif spec.strategy == "bulyan":
        inner = Bulyan(**common, num_malicious_nodes=spec.assumed_f)
    elif spec.strategy == "trimmed-mean":
        inner = FedTrimmedAvg(**common, beta=spec.trim_beta)
    elif spec.strategy == "clipped-trimmed-mean":
        inner = NormBound(FedTrimmedAvg(**common, beta=spec.trim_beta), spec.norm_bound)
    elif spec.strategy == "clipped-median":
        inner = NormBound(FedMedian(**common), spec.norm_bound)
    elif spec.strategy == "centered-clip":
        inner = CenteredClipping(**common)
    else:
        inner = FedMedian(**common)
    if private:
        z = noise_multiplier_for(spec.dp_epsilon, spec.dp_delta, spec.rounds, population, spec.per_round)
        inner = DifferentialPrivacyServerSideFixedClipping(
            inner, noise_multiplier=z, clipping_norm=spec.dp_clip, num_sampled_clients=spec.per_round,
            accountant=_accountant(spec.dp_delta, population))
    return UpdateGate(inner, spec.compress, min_clients=1)
