"""The top-level server optimizer of the cell → region → top hierarchy (FedAvgM, FedAdam):
it steps exactly as torch's SGD-with-momentum / Adam would on the pseudo-gradient, keeps its
moments across top rounds, and FedAvg stays the default."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.errors import PocketMLError
from pocketml.federated import ServerOptimizer, run
from pocketml.federated.server_optimizer import ServerOptimizerState

ROUNDS = [  # (mean of the regional models that came back) per round, for a global model of two arrays
    {"w": np.array([[0.5, -1.0], [2.0, 0.0]], np.float32), "b": np.array([0.1], np.float32)},
    {"w": np.array([[0.4, -0.8], [1.5, 0.2]], np.float32), "b": np.array([-0.3], np.float32)},
    {"w": np.array([[0.9, -0.2], [1.0, 0.1]], np.float32), "b": np.array([0.0], np.float32)},
]
START = {"w": np.array([[1.0, 0.0], [1.0, 1.0]], np.float32), "b": np.array([0.5], np.float32)}


def _torch_reference(make_opt) -> dict[str, np.ndarray]:
    """Step a torch optimizer with grad = current - averaged each round (the pseudo-gradient)."""
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in START.items()}
    opt = make_opt(list(params.values()))
    for averaged in ROUNDS:
        for k, p in params.items():
            p.grad = p.detach() - torch.tensor(averaged[k], dtype=torch.float64)
        opt.step()
    return {k: p.detach().numpy() for k, p in params.items()}


def _ours(settings: ServerOptimizer) -> dict[str, np.ndarray]:
    state = settings.start()
    x = START
    for averaged in ROUNDS:
        x = state.step(x, averaged)
    return x


def test_fedadam_steps_as_torch_adam_on_the_pseudo_gradient():
    ours = _ours(ServerOptimizer("fedadam", lr=0.05, beta1=0.9, beta2=0.99, eps=1e-3))
    ref = _torch_reference(lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.99), eps=1e-3))
    for k in START:
        np.testing.assert_allclose(ours[k], ref[k], rtol=0, atol=1e-6)
        assert ours[k].dtype == np.float32
    # Adam's first step moves every coordinate by ~lr towards the average, whatever the gradient's size
    first = ServerOptimizer("fedadam", lr=0.05).start().step(START, ROUNDS[0])
    moved = START["w"] - first["w"]
    g = START["w"] - ROUNDS[0]["w"]
    np.testing.assert_allclose(moved[g != 0], 0.05 * np.sign(g[g != 0]), atol=2e-3)


def test_fedavgm_steps_as_torch_sgd_with_momentum():
    ours = _ours(ServerOptimizer("fedavgm", lr=0.7, beta1=0.9))
    ref = _torch_reference(lambda p: torch.optim.SGD(p, lr=0.7, momentum=0.9))
    for k in START:
        np.testing.assert_allclose(ours[k], ref[k], rtol=0, atol=1e-6)


def test_fedavg_and_momentum_free_fedavgm_are_the_plain_average():
    for settings in (ServerOptimizer(), ServerOptimizer("fedavgm", lr=1.0, beta1=0.0)):
        state = settings.start()
        x = START
        for averaged in ROUNDS:
            x = state.step(x, averaged)
            for k in averaged:
                np.testing.assert_allclose(x[k], averaged[k], atol=1e-7)


def test_bad_settings_are_refused():
    for bad in (ServerOptimizer("fedsomething"), ServerOptimizer("fedadam", lr=0),
                ServerOptimizer("fedavgm", beta1=1.0)):
        with pytest.raises(PocketMLError):
            bad.start()
    with pytest.raises(PocketMLError):
        ServerOptimizerState(ServerOptimizer("fedadam")).step(START, {"w": START["w"]})


TRUE_W = np.array([1.5, -2.0, 0.5], np.float32)


def _clients(n: int = 4, per: int = 48) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    out = []
    for c in range(n):
        x = (rng.normal(size=(per, 3)) + c - n / 2).astype(np.float32)
        out.append((x, (x @ TRUE_W + 0.3).astype(np.float32)[:, None]))
    return out


CLIENTS = _clients()


def _mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(model(x), y)


def test_hierarchy_uses_the_server_optimizer_and_keeps_fedavg_by_default():
    kw = dict(model_fn=lambda: nn.Linear(3, 1), client_data_fn=lambda pid: CLIENTS[pid], loss_fn=_mse,
              clients=4, rounds=3, local_epochs=1, lr=0.01, batch_size=48, groups=[0, 1, 0, 1], seed=1)
    plain = run(**kw)
    same = run(**kw, server_optimizer=ServerOptimizer("fedavgm", lr=1.0, beta1=0.0))  # = FedAvg
    faster = run(**kw, server_optimizer=ServerOptimizer("fedavgm", lr=1.0, beta1=0.9))
    for k in plain.final_arrays:
        np.testing.assert_allclose(same.final_arrays[k], plain.final_arrays[k], atol=1e-6)
    # small local steps: momentum at the top carries the model further along the same descent
    assert faster.train_loss[-1] < plain.train_loss[-1]
    assert faster.region_top_up == plain.region_top_up  # same messages on the region ⇄ top link
    with pytest.raises(PocketMLError):  # no hierarchy, no top to optimize at
        run(**{**kw, "groups": None}, server_optimizer=ServerOptimizer("fedadam"))


def test_cosine_decay_shrinks_the_server_steps_over_the_rounds():
    rounds = 4
    state = ServerOptimizer("fedavg", decay="cosine").start(rounds)
    x = START
    for t, averaged in enumerate(ROUNDS, start=1):
        lr_t = (1 + np.cos(np.pi * (t - 1) / rounds)) / 2  # 1, 0.854, 0.5
        nxt = state.step(x, averaged)
        for k in x:
            np.testing.assert_allclose(nxt[k], x[k] - lr_t * (x[k] - averaged[k]), atol=1e-6)
        x = nxt
    with pytest.raises(PocketMLError):
        ServerOptimizer(decay="linear").start()
