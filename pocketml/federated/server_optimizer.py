"""A server-side optimizer for the top of the cell → region → top hierarchy (FedAvgM, FedAdam).

Adaptive federated optimization (Reddi et al., *Adaptive Federated Optimization*, ICLR 2021,
arXiv:2003.00295; FedAvgM: Hsu et al., arXiv:1909.06335) treats the difference between the global
model and the (weighted) mean of the models that come back as a **pseudo-gradient** and feeds it
to a server optimizer that keeps state across rounds:

    g_t = x_t - mean_r(x_r)                                   (plain FedAvg is x_{t+1} = x_t - g_t)
    fedavg:   x_{t+1} = x_t - lr_t * g_t                (lr_t = 1: the plain average)
    fedavgm:  b_t = beta1 * b_{t-1} + g_t;            x_{t+1} = x_t - lr_t * b_t
    fedadam:  m_t = beta1 * m_{t-1} + (1 - beta1) g_t; v_t = beta2 * v_{t-1} + (1 - beta2) g_t^2
              x_{t+1} = x_t - lr_t * (m_t / (1 - beta1^t)) / (sqrt(v_t / (1 - beta2^t)) + eps)

i.e. exactly ``torch.optim.SGD(momentum=beta1)`` and ``torch.optim.Adam(betas, eps)`` stepped
with ``g_t`` as the gradient (tests/test_federated_server_optimizer.py checks both against torch),
with ``lr_t = lr`` (``decay="none"``) or, with ``decay="cosine"`` over ``T`` top rounds,
``lr_t = lr * (1 + cos(pi * (t - 1) / T)) / 2``: full steps first, ever smaller ones at the end, so
the last rounds (each from a small sample of clients) average out instead of moving the model
wherever their sample points (the schedule central training uses too, per epoch).

Why here and not a Flower strategy: Flower's ``FedAvgM``/``FedAdam`` keep their moments inside
the strategy object and read the regional models from Flower reply messages on a Grid; in
:func:`pocketml.federated.hierarchy.federate_regions` the regions' strategies are started afresh
every top round (a Flower FedAdam there would lose its moments each round), and the top itself
is a plain weighted average over the regions, not a Grid. So the optimizer lives at the top, as
this small state machine, and ``federate_regions(..., server_optimizer=...)`` steps it once per top
round. ``ServerOptimizer()`` (``kind="fedavg"``) is the plain average, the default everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.errors import PocketMLError

KINDS = ("fedavg", "fedavgm", "fedadam")
DECAYS = ("none", "cosine")


@dataclass(frozen=True)
class ServerOptimizer:
    """Settings of the top-level optimizer (sklearn-style: settings only; :meth:`start` makes the state).

    Parameters
    ----------
    kind : "fedavg" [default: x_{t+1} = mean of the regional models], "fedavgm" (server momentum)
        or "fedadam" (server Adam).
    lr : server learning rate (fedavgm: 1.0 with momentum 0 is FedAvg; fedadam: typically 1e-2 to 1e-1).
    beta1 : momentum (fedavgm) or Adam's first-moment decay (fedadam).
    beta2 : Adam's second-moment decay (fedadam only).
    eps : Adam's epsilon (Reddi et al.'s tau: how adaptive the step is).
    decay : "none" [default] or "cosine": the server learning rate over the top rounds (see above).
    """

    kind: str = "fedavg"
    lr: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-3
    decay: str = "none"

    def check(self) -> ServerOptimizer:
        if self.kind not in KINDS:
            raise PocketMLError(f"unknown server optimizer '{self.kind}'", f"use one of {', '.join(KINDS)}")
        if self.decay not in DECAYS:
            raise PocketMLError(f"unknown server learning-rate decay '{self.decay}'", f"use one of {', '.join(DECAYS)}")
        if not self.lr > 0 or not 0 <= self.beta1 < 1 or not 0 <= self.beta2 < 1 or not self.eps > 0:
            raise PocketMLError(
                f"server optimizer settings lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}",
                "use lr > 0, 0 <= beta1 < 1, 0 <= beta2 < 1, eps > 0 (e.g. fedadam lr=0.03, 0.9, 0.99, 1e-3)",
            )
        return self

    def start(self, rounds: int = 1) -> ServerOptimizerState:
        """A fresh state (no moments yet) to step once per top round, ``rounds`` of them (for the decay)."""
        return ServerOptimizerState(self.check(), rounds)


class ServerOptimizerState:
    """The moments of one run: :meth:`step` maps (global model, mean of the returned models) → next global."""

    def __init__(self, settings: ServerOptimizer, rounds: int = 1) -> None:
        self.settings = settings
        self.rounds = max(int(rounds), 1)
        self.t = 0
        self.first: dict[str, np.ndarray] = {}
        self.second: dict[str, np.ndarray] = {}

    def step(self, current: dict[str, np.ndarray], averaged: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The next global model from ``current`` (sent down this round) and ``averaged`` (the
        weighted mean of what came back). Arrays stay float32, as they travel."""
        s = self.settings
        if s.kind == "fedavg" and s.decay == "none" and s.lr == 1.0:
            return {k: np.asarray(v, np.float32) for k, v in averaged.items()}
        if set(current) != set(averaged):
            raise PocketMLError("the averaged model has other arrays than the global one",
                                "return every array of the global model from every region")
        self.t += 1
        lr = s.lr if s.decay == "none" else s.lr * (1 + np.cos(np.pi * (self.t - 1) / self.rounds)) / 2
        out = {}
        for k, x in current.items():
            x = np.asarray(x, np.float64)
            g = x - np.asarray(averaged[k], np.float64)  # pseudo-gradient: the way back from the average
            if s.kind == "fedavg":
                out[k] = (x - lr * g).astype(np.float32)
            elif s.kind == "fedavgm":
                b = s.beta1 * self.first[k] + g if k in self.first else g
                self.first[k] = b
                out[k] = (x - lr * b).astype(np.float32)
            else:  # fedadam
                m = s.beta1 * self.first.get(k, np.zeros_like(g)) + (1 - s.beta1) * g
                v = s.beta2 * self.second.get(k, np.zeros_like(g)) + (1 - s.beta2) * g * g
                self.first[k], self.second[k] = m, v
                m_hat = m / (1 - s.beta1**self.t)
                v_hat = v / (1 - s.beta2**self.t)
                out[k] = (x - lr * m_hat / (np.sqrt(v_hat) + s.eps)).astype(np.float32)
        return out
