"""pocketml.federated.run(model_fn=..., client_data_fn=..., loss_fn=...): the hook that federates a
caller's own PyTorch model on its own per-client data, flat and cell → region → top."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.energy.carbon import carbon_available
from pocketml.errors import PocketMLError
from pocketml.federated import TaskResult, run

TRUE_W = np.array([1.5, -2.0, 0.5], np.float32)


def make_clients(n: int = 4, per: int = 64, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Non-IID linear-regression clients: each has inputs shifted differently, one shared truth."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(n):
        x = (rng.normal(size=(per, 3)) + c - n / 2).astype(np.float32)
        y = (x @ TRUE_W + 0.3 + 0.05 * rng.normal(size=per)).astype(np.float32)[:, None]
        out.append((x, y))
    return out


CLIENTS = make_clients()
X_TEST = np.concatenate([x for x, _ in CLIENTS])
Y_TEST = np.concatenate([y for _, y in CLIENTS])


def mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(model(x), y)


def held_out_mse(model: nn.Module) -> float:
    return float(mse(model, torch.from_numpy(X_TEST), torch.from_numpy(Y_TEST)))


def test_hook_trains_a_regression_across_four_clients():
    res = run(model_fn=lambda: nn.Linear(3, 1), client_data_fn=lambda pid: CLIENTS[pid], loss_fn=mse,
              eval_fn=held_out_mse, clients=4, rounds=10, local_epochs=2, lr=0.05, batch_size=16)
    assert isinstance(res, TaskResult) and len(res.metric) == 10 and len(res.bytes_up) == 10
    assert res.initial_metric is not None and res.metric[-1] < 0.05 * res.initial_metric
    assert res.train_loss[-1] < res.train_loss[0]
    w = res.model().weight.detach().numpy().ravel()
    np.testing.assert_allclose(w, TRUE_W, atol=0.1)  # the federated model found the shared truth
    # every client sends its full weights each round: 4 messages up per round, all of equal size
    assert len(set(res.bytes_up)) == 1 and res.bytes_up[0] > 4 * 4 * 4
    assert held_out_mse(res.model()) == pytest.approx(res.metric[-1], rel=1e-5)
    carbon = res.to_json()["carbon"]  # issue 8: codecarbon around the federated rounds
    if carbon_available() and os.environ.get("POCKETML_CARBON", "").lower() not in ("off", "0", "no"):
        assert carbon["kg_co2e"] >= 0 and "codecarbon" in carbon["method"] and carbon["stage"] == "federated"
    else:
        assert carbon is None


def test_hook_with_a_cell_to_region_hierarchy_counts_both_links():
    res = run(model_fn=lambda: nn.Linear(3, 1), client_data_fn=lambda pid: CLIENTS[pid], loss_fn=mse,
              eval_fn=held_out_mse, clients=4, rounds=4, local_epochs=2, lr=0.05, batch_size=16,
              groups=[0, 1, 0, 1], region_rounds=2)
    assert res.regions == 2 and len(res.metric) == 4
    assert res.metric[-1] < 0.05 * res.initial_metric
    # two regions: one model each way per region per top round on the region ⇄ top link
    assert res.region_top_up == res.region_top_down and res.region_top_up > 0
    # cell ⇄ region: 2 region rounds x 4 cells per top round
    assert all(b > 0 for b in res.bytes_up) and sum(res.bytes_up) > res.region_top_up


def test_hook_compressed_uplink_sends_fewer_bytes():
    kw = dict(model_fn=lambda: nn.Sequential(nn.Linear(3, 512), nn.ReLU(), nn.Linear(512, 1)),
              client_data_fn=lambda pid: CLIENTS[pid], loss_fn=mse, clients=4, rounds=3, lr=0.01)
    plain, packed = run(**kw), run(**kw, compress="int8")
    assert sum(packed.bytes_up) < 0.5 * sum(plain.bytes_up)
    assert packed.train_loss[-1] < packed.train_loss[0]


def test_hook_refuses_bad_input():
    with pytest.raises(PocketMLError, match="needs model_fn"):
        run(model_fn=lambda: nn.Linear(3, 1), clients=4)
    with pytest.raises(PocketMLError, match="groups has 3 entries"):
        run(model_fn=lambda: nn.Linear(3, 1), client_data_fn=lambda pid: CLIENTS[pid], loss_fn=mse,
            clients=4, groups=[0, 1, 0])
    with pytest.raises(PocketMLError, match="same, non-zero number"):
        run(model_fn=lambda: nn.Linear(3, 1), client_data_fn=lambda pid: (CLIENTS[pid][0], CLIENTS[pid][1][:-1]),
            loss_fn=mse, clients=2, rounds=1)
