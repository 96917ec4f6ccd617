"""What one client does with its data: build the model, load weights, train locally, evaluate.

Weights travel as the model's floating state (parameters and BatchNorm running statistics, in
``state_dict`` order); integer buffers such as ``num_batches_tracked`` stay local.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from pocketml.data.dataset import Dataset, Split
from pocketml.federated.partition import partition
from pocketml.federated.spec import FederatedSpec
from pocketml.models.registry import get_builtin
from pocketml.models.train import fit


@lru_cache(maxsize=4)
def load_dataset(name: str) -> Dataset:
    """The built-in dataset of the run (cached per process: every virtual client shares it)."""
    from pocketml.data.digits import load_digits, load_digits_shifted

    return {"digits": load_digits, "digits-shifted": load_digits_shifted}[name]()


@lru_cache(maxsize=8)
def client_indices(dataset: str, clients: int, scheme: str, seed: int) -> tuple[np.ndarray, ...]:
    return tuple(partition(load_dataset(dataset).train.y, clients, scheme, seed=seed))


def check_clients(spec: FederatedSpec) -> None:
    """Refuse more clients than the built-in dataset has samples for, before any fleet is built
    (``--clients 100000000`` would otherwise allocate gigabytes of node ids first)."""
    client_indices(spec.dataset, spec.clients, spec.partition, spec.seed)


PERSONAL_HOLDOUT = 0.3


def client_split(spec: FederatedSpec, partition_id: int, part: str = "train") -> Split:
    """Client ``partition_id``'s samples (labels flipped if it is a label-flipper).

    With ``spec.personalize`` > 0 a seeded 30% of them (``part="holdout"``) never trains: it
    scores the global model against the personalized one; ``part="train"`` is the rest.
    """
    data = load_dataset(spec.dataset)
    idx = client_indices(spec.dataset, spec.clients, spec.partition, spec.seed)[partition_id]
    if spec.personalize > 0 and len(idx) >= 2:
        order = np.random.default_rng(spec.seed * 7 + partition_id).permutation(idx)
        cut = max(1, int(round(PERSONAL_HOLDOUT * len(idx))))
        idx = np.sort(order[:cut] if part == "holdout" else order[cut:])
    y = data.train.y[idx]
    if spec.attack == "label-flip" and is_attacker(spec, partition_id):
        y = (data.n_classes - 1) - y
    return Split(data.train.x[idx], y)


def is_attacker(spec: FederatedSpec, partition_id: int) -> bool:
    """The poisoned clients: a seeded choice of ``attack_fraction · clients`` partitions."""
    order = np.random.default_rng(spec.seed + 7919).permutation(spec.clients)
    return partition_id in set(order[: spec.attackers].tolist())


def build_model(spec: FederatedSpec) -> nn.Module:
    torch.manual_seed(spec.seed)
    return get_builtin(spec.model).build()


def model_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The floating state of ``model`` as float32 numpy arrays, in state_dict order."""
    return {k: v.detach().cpu().numpy().astype(np.float32).copy()
            for k, v in model.state_dict().items() if v.is_floating_point()}


def load_arrays(model: nn.Module, arrays: dict[str, np.ndarray]) -> nn.Module:
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in arrays.items()}, strict=False)
    return model


def train_local(model: nn.Module, split: Split, spec: FederatedSpec, *, proximal_mu: float = 0.0,
                seed: int = 0) -> float:
    """SGD (momentum 0.9) for ``spec.local_epochs`` epochs on the one training loop
    (``models.train.fit``); FedProx's term when ``proximal_mu`` > 0. A one-sample batch runs
    BatchNorm on its running statistics (every sample of a small client counts).

    Returns the mean training loss of the last epoch (with the proximal term).
    """
    ce = nn.CrossEntropyLoss()
    return _local_fit(model, (torch.as_tensor(split.x), torch.as_tensor(split.y)),
                      lambda m, x, y: ce(m(x), y), spec, "sgd", proximal_mu, seed, running_stats_below=2)


def _local_fit(model: nn.Module, tensors, loss_fn, spec: FederatedSpec, optimizer: str, proximal_mu: float,
               seed: int, running_stats_below: int = 0) -> float:
    """One client's local epochs on ``fit`` (no schedule), with FedProx's mu/2 · ||w - w_global||²."""
    anchor = [p.detach().clone() for p in model.parameters()]

    def batch_loss(m: nn.Module, *batch: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(m, *batch)
        if proximal_mu > 0:
            drift = sum(((p - a) ** 2).sum() for p, a in zip(m.parameters(), anchor, strict=True))
            loss = loss + proximal_mu / 2 * drift
        return loss

    losses: list[float] = []
    fit(model, tensors, batch_loss, epochs=spec.local_epochs, batch_size=spec.batch_size, seed=seed, lr=spec.lr,
        schedule=None, optimizer=optimizer, running_stats_below=running_stats_below,
        after_epoch=lambda epoch, loss: losses.append(loss))
    return losses[-1] if losses else 0.0


def accuracy(model: nn.Module, split: Split) -> float:
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(split.x))
    return float((logits.argmax(1).numpy() == split.y).mean())


def personalize_head(model: nn.Module, split: Split, epochs: int, *, lr: float = 0.05, seed: int = 0) -> nn.Module:
    """Fine-tune only the model's last Linear layer (the local head) on ``split``; the body stays shared
    (eval mode throughout: its BatchNorm statistics do not move)."""
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    fit(model, (torch.as_tensor(split.x), torch.as_tensor(split.y)),
        lambda m, x, y: nn.functional.cross_entropy(m(x), y), epochs=epochs, batch_size=16, seed=seed, lr=lr,
        params=head.parameters(), schedule=None, optimizer="sgd", train_mode=False)
    return model
