"""FederatedSpec: every setting of a federated run, validated once, carried as Flower run config.

The ServerApp and every ClientApp rebuild the same spec from ``context.run_config`` (a flat dict
of str/int/float/bool, which is what Flower ships to SuperNodes), so a simulation and a real
SuperLink/SuperNode deployment run the very same apps.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from pocketml.errors import PocketMLError
from pocketml.federated.codec import check_codec
from pocketml.federated.partition import Partitioning

STRATEGIES = ("fedavg", "fedprox", "krum", "trimmed-mean", "median", "multi-krum", "bulyan",
              "clipped-trimmed-mean", "clipped-median", "centered-clip")
ATTACKS = ("none", "sign-flip", "label-flip", "nan", "wrong-shape")
DATASETS = {"digits": "digits-cnn", "digits-shifted": "digits-cnn"}  # digits-shifted: 26,950 images, 10k clients


@dataclass(frozen=True)
class FederatedSpec:
    """Settings of one federated run (defaults in brackets).

    Parameters
    ----------
    dataset : str ["digits"]        built-in dataset: digits, or digits-shifted (its training images
                                    shifted by up to 2 pixels: 25x the samples, for large fleets)
    model : str ["digits-cnn"]      built-in model name
    clients : int [10]              simulated clients (SuperNodes)
    rounds : int [5]                server rounds
    strategy : str ["fedavg"]       fedavg | fedprox | krum | trimmed-mean | median | multi-krum |
                                    bulyan (Flower's) | clipped-trimmed-mean | clipped-median |
                                    centered-clip (robust.py)
    partition : str ["iid"]         iid | dirichlet:ALPHA | size:SIGMA
    compress : str ["none"]         none | int8 | topk | int8-topk (uplink)
    topk_fraction : float [0.05]    share of entries top-k keeps
    fraction : float [1.0]          share of available clients sampled per round
    local_epochs : int [2]          local epochs per round
    lr : float [0.05]               client SGD learning rate (momentum 0.9)
    batch_size : int [16]
    proximal_mu : float [0.01]      FedProx's mu
    attack : str ["none"]           what the poisoned clients do (sign-flip sends -4x its learned update)
    attack_fraction : float [0.0]   share of clients that are poisoned
    trim_beta : float [0.2]         share trimmed at each end by (clipped-)trimmed-mean
    norm_bound : float [1.0]        clipped-*: updates bounded to this x the round's median norm
    byzantine_f : int [0]           f that krum / multi-krum / bulyan assume per round (0: the
                                    expected number of poisoned clients, attackers_per_round)
    dp_epsilon : float [inf]        target epsilon over the whole run (inf = no DP)
    dp_delta : float [1e-5]
    dp_clip : float [1.0]           L2 clipping norm of each client update
    personalize : int [0]           > 0: clients keep 30% of their samples out of training and,
                                    after the last round, fine-tune a local head (the model's last
                                    Linear layer) for this many epochs; both are scored on that 30%
    seed : int [0]
    """

    dataset: str = "digits"
    model: str = "digits-cnn"
    clients: int = 10
    rounds: int = 5
    strategy: str = "fedavg"
    partition: str = "iid"
    compress: str = "none"
    topk_fraction: float = 0.05
    fraction: float = 1.0
    local_epochs: int = 2
    lr: float = 0.05
    batch_size: int = 16
    proximal_mu: float = 0.01
    attack: str = "none"
    attack_fraction: float = 0.0
    trim_beta: float = 0.2
    norm_bound: float = 1.0
    byzantine_f: int = 0
    dp_epsilon: float = math.inf
    dp_delta: float = 1e-5
    dp_clip: float = 1.0
    personalize: int = 0
    seed: int = 0

    @property
    def per_round(self) -> int:
        """Clients sampled each round."""
        return max(1, round(self.fraction * self.clients))

    @property
    def attackers(self) -> int:
        return round(self.attack_fraction * self.clients) if self.attack != "none" else 0

    @property
    def attackers_per_round(self) -> int:
        """Poisoned clients expected among those sampled each round (Krum's f)."""
        return min(self.attackers, math.ceil(self.attack_fraction * self.per_round)) if self.attackers else 0

    @property
    def assumed_f(self) -> int:
        """Poisoned clients per round that Krum, Multi-Krum and Bulyan are told to expect."""
        return self.byzantine_f or self.attackers_per_round

    def is_attacker(self, partition_id: int) -> bool:
        """The poisoned clients: a seeded choice of ``attack_fraction · clients`` partitions."""
        if not self.attackers:
            return False
        order = np.random.default_rng(self.seed + 7919).permutation(self.clients)
        return partition_id in set(order[: self.attackers].tolist())

    def client_seed(self, server_round: int, partition_id: int) -> int:
        """Seed of client ``partition_id``'s local training in ``server_round`` (batch order)."""
        return self.seed * 100003 + server_round * 1009 + partition_id

    def validate(self) -> FederatedSpec:
        """Fail fast on impossible settings; returns self."""
        if self.dataset not in DATASETS:
            raise PocketMLError(f"unknown dataset '{self.dataset}'", f"built-in datasets: {', '.join(DATASETS)}")
        if self.clients < 1 or self.rounds < 1:
            raise PocketMLError(f"{self.clients} clients and {self.rounds} rounds requested",
                                "pass --clients ≥ 1 and --rounds ≥ 1")
        if not 0 < self.fraction <= 1:
            raise PocketMLError(f"fraction {self.fraction} of clients per round is outside (0, 1]",
                                "pass a fraction such as 0.1; more clients per round than exist is impossible")
        if self.strategy not in STRATEGIES:
            raise PocketMLError(f"unknown strategy '{self.strategy}'", f"use one of: {', '.join(STRATEGIES)}")
        if self.attack not in ATTACKS:
            raise PocketMLError(f"unknown attack '{self.attack}'", f"use one of: {', '.join(ATTACKS)}")
        if not 0 <= self.attack_fraction < 1:
            raise PocketMLError(f"attack fraction {self.attack_fraction} is outside [0, 1)",
                                "pass a share of poisoned clients such as 0.2")
        Partitioning.parse(self.partition)
        check_codec(self.compress, self.topk_fraction)
        if self.byzantine_f < 0:
            raise PocketMLError(f"byzantine_f {self.byzantine_f} is negative", "pass 0 (automatic) or a count")
        if self.strategy in ("krum", "multi-krum") and self.per_round < 2 * self.assumed_f + 3:
            raise PocketMLError(
                f"Krum needs more than 2f + 2 clients per round; {self.per_round} sampled with "
                f"f = {self.assumed_f} poisoned", "sample more clients per round or use median")
        if self.strategy == "bulyan" and self.per_round < 4 * self.assumed_f + 3:
            raise PocketMLError(
                f"Bulyan needs at least 4f + 3 clients per round; {self.per_round} sampled with "
                f"f = {self.assumed_f} poisoned", "sample more clients per round or use centered-clip")
        if not self.norm_bound > 0:
            raise PocketMLError(f"norm bound {self.norm_bound} is not positive", "pass e.g. 1.0 (the median norm)")
        if self.strategy.endswith("trimmed-mean") and not 0 <= self.trim_beta < 0.5:
            raise PocketMLError(f"trim beta {self.trim_beta} is outside [0, 0.5)", "pass e.g. 0.2")
        if not self.dp_epsilon > 0:
            raise PocketMLError(f"epsilon {self.dp_epsilon} is not positive", "pass ε > 0, or inf for no DP")
        if not 0 < self.dp_delta < 1 or not self.dp_clip > 0:
            raise PocketMLError(f"DP delta {self.dp_delta} / clip {self.dp_clip} out of range",
                                "pass 0 < delta < 1 (e.g. 1e-5) and a positive clipping norm")
        if math.isfinite(self.dp_epsilon) and self.strategy not in ("fedavg", "fedprox"):
            raise PocketMLError(f"differential privacy is accounted for FedAvg-style averaging, not {self.strategy}",
                                "use --strategy fedavg or fedprox with --dp-epsilon")
        if self.personalize < 0:
            raise PocketMLError(f"personalize {self.personalize} is negative", "pass 0 (off) or local head epochs")
        for name in ("local_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise PocketMLError(f"{name} must be ≥ 1", f"pass a positive {name}")
        return self

    def to_run_config(self) -> dict[str, bool | float | int | str]:
        """Flower run config (flat, hyphenated keys; inf as a string since TOML/JSON lack it)."""
        out: dict[str, bool | float | int | str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name.replace("_", "-")] = "inf" if value == math.inf else value
        return out

    @classmethod
    def from_run_config(cls, config: dict) -> FederatedSpec:
        kwargs = {}
        for f in dataclasses.fields(cls):
            key = f.name.replace("_", "-")
            if key in config:
                kind = {"int": int, "float": float, "str": str}[f.type]
                kwargs[f.name] = kind(config[key])
        return cls(**kwargs)
