"""The federated task: what a client trains and what the server evaluates, as named float32 arrays.

One ClientApp (client_app.py) and one ServerApp (server_app.py) run every federated job; what
differs between jobs is the task they are built around:

    Task.initial_arrays(spec)            the server's starting global model
    Task.train(arrays, partition, spec)  one client's local epochs ─▶ LocalUpdate (arrays, metrics)
    Task.evaluate(arrays)                central figure of the global model after each round (or None)

Three ways to make one:

    BuiltinTask.from_spec(spec)          a built-in model on a built-in dataset (builtin.py); what
                                         ``pocketml federate`` and the SuperLink/SuperNode apps run
    ModelTask(model_fn, client_data_fn, loss_fn, eval_fn)   the caller's own PyTorch model and data
    PartTask(trainer, initial, client_data, evaluate)       a trainable part trained by any trainer,
                                         e.g. the emitted C training step (device.py)

Weights travel as the model's floating state (parameters and BatchNorm running statistics, in
``state_dict`` order); integer buffers such as ``num_batches_tracked`` stay local.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from pocketml.errors import PocketMLError
from pocketml.federated.spec import FederatedSpec
from pocketml.models.train import fit

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class LocalUpdate:
    """One client's local training: its new arrays and the metrics its reply carries
    (``num-examples`` and ``unit-weight`` weigh it in the aggregate; the rest is averaged)."""

    arrays: dict[str, np.ndarray]
    metrics: dict[str, int | float]


class Task:
    """What the ClientApp trains and the ServerApp evaluates; subclasses fill in the four methods.

    A task never sees Flower: the apps hand it arrays and a :class:`FederatedSpec` (strategy,
    local epochs, lr, batch size, seed, ...) and put its arrays into Flower's records.

    ``reply_via_delta``: with ``compress`` "none", reply with ``global + (local - global)`` rather
    than ``local`` itself. The two differ in the last float32 bit now and then, and over ten rounds
    that moves an accuracy figure; the built-in task has always replied this way (its attack
    harness works on the delta), so it keeps doing so and its published figures stay reproducible.
    """

    reply_via_delta: ClassVar[bool] = False

    def check(self, spec: FederatedSpec) -> None:
        """Fail fast, before any fleet is built, on data the run could not train on (default: nothing)."""

    def initial_arrays(self, spec: FederatedSpec) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def train(self, arrays: dict[str, np.ndarray], partition_id: int, spec: FederatedSpec, *, seed: int,
              proximal_mu: float = 0.0) -> LocalUpdate:
        raise NotImplementedError

    def evaluate(self, arrays: dict[str, np.ndarray]) -> float | None:
        """Central figure of the global model (accuracy, a held-out loss, ...), or None."""
        return None

    def examples(self, partition_id: int) -> int:
        """Training samples of client ``partition_id`` (a region's weight in the hierarchy)."""
        raise NotImplementedError

    def reply_metrics(self, update: LocalUpdate, payload: dict[str, np.ndarray], server_round: int,
                      partition_id: int) -> dict[str, int | float]:
        """Metrics the reply carries, given the arrays it sends (``payload``: weights or an encoded
        update). Default: the update's own."""
        return update.metrics

    def personalize(self, arrays: dict[str, np.ndarray], partition_id: int, spec: FederatedSpec,
                    epochs: int) -> dict[str, int | float]:
        """Global vs locally fine-tuned model on this client's held-out samples (``spec.personalize``)."""
        raise PocketMLError(f"{type(self).__name__} has no personalization",
                            "use a built-in dataset for --personalize, or pass personalize=0")


def model_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The floating state of ``model`` as float32 numpy arrays, in state_dict order."""
    return {k: v.detach().cpu().numpy().astype(np.float32).copy()
            for k, v in model.state_dict().items() if v.is_floating_point()}


def load_arrays(model: nn.Module, arrays: dict[str, np.ndarray]) -> nn.Module:
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in arrays.items()}, strict=False)
    return model


def local_fit(model: nn.Module, tensors: Sequence[torch.Tensor], loss_fn: Callable[..., torch.Tensor],
              spec: FederatedSpec, optimizer: str, proximal_mu: float, seed: int,
              running_stats_below: int = 0) -> float:
    """One client's ``spec.local_epochs`` on the one training loop (``models.train.fit``, no schedule),
    with FedProx's mu/2 · ||w - w_global||² when ``proximal_mu`` > 0. Returns the last epoch's mean loss."""
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


@dataclass(frozen=True)
class ModelTask(Task):
    """A PyTorch model trained on per-client arrays (sklearn-style: settings only, nothing runs here).

    Parameters
    ----------
    model_fn : () -> nn.Module, a fresh module; called on the server and on every client, it must
        build the same architecture each time (the server seeds torch before its first call).
    client_data_fn : (partition_id) -> tuple of sample-first numpy arrays (inputs..., targets...),
        all with the same first dimension; batches of them are passed to ``loss_fn``.
    loss_fn : (model, *batch_tensors) -> scalar tensor.
    eval_fn : optional (model) -> float, evaluated centrally on the global model before the first
        and after every round (e.g. a held-out loss); without it the round's figure is the clients'
        mean training loss.
    optimizer : "adam" [default] or "sgd" (momentum 0.9) for local training.
    running_stats_below : int [0]  batches smaller than this run BatchNorm on its running
        statistics (0: never; the built-in classifiers use 2, so a one-sample batch still counts).
    """

    model_fn: Callable[[], nn.Module]
    client_data_fn: Callable[[int], Sequence[np.ndarray]]
    loss_fn: Callable[..., torch.Tensor]
    eval_fn: Callable[[nn.Module], float] | None = None
    optimizer: str = "adam"
    running_stats_below: int = 0

    def check(self, spec: FederatedSpec | None = None) -> ModelTask:
        for name in ("model_fn", "client_data_fn", "loss_fn"):
            if not callable(getattr(self, name)):
                raise PocketMLError(f"{name} is not callable", f"pass a function as {name}")
        if self.optimizer not in OPTIMIZERS:
            raise PocketMLError(f"unknown optimizer '{self.optimizer}'", f"use one of {', '.join(OPTIMIZERS)}")
        for pid in range(spec.clients if spec is not None else 0):  # every client's data is here: check it now
            self.client_arrays(pid)
        return self

    def client_arrays(self, partition_id: int) -> tuple[np.ndarray, ...]:
        """Client ``partition_id``'s arrays, checked (same first dimension, at least one sample)."""
        arrays = tuple(np.asarray(a) for a in self.client_data_fn(partition_id))
        if not arrays or len({len(a) for a in arrays}) != 1 or len(arrays[0]) == 0:
            raise PocketMLError(
                f"client_data_fn({partition_id}) returned arrays of lengths {[len(a) for a in arrays]}",
                "return a tuple of sample-first arrays with the same, non-zero number of samples",
            )
        return arrays

    def initial_arrays(self, spec: FederatedSpec) -> dict[str, np.ndarray]:
        torch.manual_seed(spec.seed)
        return model_arrays(self.model_fn())

    def train(self, arrays: dict[str, np.ndarray], partition_id: int, spec: FederatedSpec, *, seed: int,
              proximal_mu: float = 0.0) -> LocalUpdate:
        model = load_arrays(self.model_fn(), arrays)
        data = self.client_arrays(partition_id)
        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in data]
        loss = local_fit(model, tensors, self.loss_fn, spec, self.optimizer, proximal_mu, seed,
                         self.running_stats_below)
        return LocalUpdate(model_arrays(model), {"num-examples": len(data[0]), "unit-weight": 1.0, "train-loss": loss})

    def evaluate(self, arrays: dict[str, np.ndarray]) -> float | None:
        if self.eval_fn is None:
            return None
        with torch.no_grad():
            return float(self.eval_fn(load_arrays(self.model_fn(), arrays).eval()))

    def examples(self, partition_id: int) -> int:
        return len(self.client_arrays(partition_id)[0])

    def model(self, arrays: dict[str, np.ndarray]) -> nn.Module:
        """A fresh module holding ``arrays`` (eval mode)."""
        return load_arrays(self.model_fn(), arrays).eval()
