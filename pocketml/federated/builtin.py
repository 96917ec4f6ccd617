"""The built-in task: a built-in classifier on a built-in dataset, made from the run's FederatedSpec.

``BuiltinTask.from_spec(spec)`` is a :class:`~pocketml.federated.task.ModelTask` whose model is
``spec.model`` (seeded with ``spec.seed``), whose clients hold ``spec.partition``'s share of
``spec.dataset``'s training split (labels flipped on label-flipping clients), trained with
cross-entropy and SGD, and evaluated on the test split. It adds what only a classifier on a known
dataset can do: personalization on a held-out share of each client's samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from pocketml.data.dataset import Dataset, Split
from pocketml.federated.partition import partition
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.task import ModelTask, load_arrays
from pocketml.models.registry import get_builtin
from pocketml.models.train import fit

PERSONAL_HOLDOUT = 0.3


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
    if spec.attack == "label-flip" and spec.is_attacker(partition_id):
        y = (data.n_classes - 1) - y
    return Split(data.train.x[idx], y)


def build_model(spec: FederatedSpec) -> nn.Module:
    torch.manual_seed(spec.seed)
    return get_builtin(spec.model).build()


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


@dataclass(frozen=True)
class BuiltinTask(ModelTask):
    """``spec.model`` on ``spec.dataset``; build it with :meth:`from_spec`."""

    spec: FederatedSpec = FederatedSpec()
    reply_via_delta: ClassVar[bool] = True

    @classmethod
    def from_spec(cls, spec: FederatedSpec) -> BuiltinTask:
        """The task of a built-in run: SGD on cross-entropy (a one-sample batch runs BatchNorm on its
        running statistics), accuracy on the test split."""
        ce = nn.CrossEntropyLoss()
        return cls(model_fn=lambda: build_model(spec),
                   client_data_fn=lambda pid: _arrays(client_split(spec, pid)),
                   loss_fn=lambda m, x, y: ce(m(x), y),
                   eval_fn=lambda m: accuracy(m, load_dataset(spec.dataset).test),
                   optimizer="sgd", running_stats_below=2, spec=spec)

    def check(self, spec: FederatedSpec | None = None) -> BuiltinTask:
        check_clients(self.spec)
        return self

    def examples(self, partition_id: int) -> int:
        """All of the client's samples (its held-out share included)."""
        spec = self.spec
        return len(client_indices(spec.dataset, spec.clients, spec.partition, spec.seed)[partition_id])

    def personalize(self, arrays: dict[str, np.ndarray], partition_id: int, spec: FederatedSpec,
                    epochs: int) -> dict[str, int | float]:
        """The global model's accuracy on this client's held-out samples, and the accuracy after its last
        Linear layer (the head) is fine-tuned for ``epochs`` epochs on the client's training samples."""
        held_out = client_split(spec, partition_id, "holdout")
        model = load_arrays(build_model(spec), arrays)
        metrics: dict[str, int | float] = {"num-examples": len(held_out), "partition-id": partition_id,
                                           "accuracy": accuracy(model, held_out)}
        if epochs > 0:
            personalize_head(model, client_split(spec, partition_id, "train"), epochs, lr=spec.lr,
                             seed=spec.seed + partition_id)
            metrics["personal-accuracy"] = accuracy(model, held_out)
        return metrics


def _arrays(split: Split) -> tuple[np.ndarray, np.ndarray]:
    return split.x, split.y
