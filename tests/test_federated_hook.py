"""pocketml.federated.run(model_fn=..., client_data_fn=..., loss_fn=...): the hook that federates a
caller's own PyTorch model on its own per-client data, flat and cell → region → top; and any Task
on the one ClientApp/ServerApp stack."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.energy.carbon import carbon_available
from pocketml.errors import PocketMLError
from pocketml.federated import BuiltinTask, FederatedResult, FederatedSpec, LocalUpdate, Task, TaskResult, run
from pocketml.federated.hierarchy import run_regions
from pocketml.federated.simulation import quiet, simulate

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
    with pytest.raises(PocketMLError, match="personalization is for the built-in"):
        run(model_fn=lambda: nn.Linear(3, 1), client_data_fn=lambda pid: CLIENTS[pid], loss_fn=mse, clients=4,
            personalize=2)


# -- one stack: every task runs on the same ClientApp/ServerApp -----------------------------------
class NumpyRegression(Task):
    """A task with no PyTorch at all: least squares by plain gradient steps on the clients' arrays."""

    def initial_arrays(self, spec):
        return {"w": np.zeros(3, np.float32)}

    def train(self, arrays, partition_id, spec, *, seed, proximal_mu=0.0):
        x, y = CLIENTS[partition_id]
        w = arrays["w"].astype(np.float64)
        for _ in range(spec.local_epochs * 20):
            w -= spec.lr * 2 * x.T @ (x @ w - y[:, 0] + 0.3) / len(x)
        return LocalUpdate({"w": w.astype(np.float32)}, {"num-examples": len(x), "unit-weight": 1.0})

    def evaluate(self, arrays):
        return float(np.mean((X_TEST @ arrays["w"] + 0.3 - Y_TEST[:, 0]) ** 2))

    def examples(self, partition_id):
        return len(CLIENTS[partition_id][0])


def test_any_task_runs_on_the_one_stack_flat_and_by_regions():
    spec = FederatedSpec(clients=4, rounds=5, local_epochs=1, lr=0.02, compress="int8")
    with quiet():
        sim = simulate(spec, NumpyRegression())
        regions = run_regions(spec, [(0, 2), (1, 3)], NumpyRegression(), region_rounds=2)
    assert len(sim.hooks.metric) == 6 and sim.hooks.metric[5] < 0.1 * sim.hooks.metric[0]
    assert len(sim.bytes_up) == 5 and all(b > 0 for b in sim.bytes_up)
    np.testing.assert_allclose(sim.hooks.final_arrays["w"], TRUE_W, atol=0.15)
    assert regions.regions == 2 and regions.metric[-1] < 0.1 * regions.initial_metric


def test_the_built_in_run_is_the_built_in_task_on_the_same_stack():
    spec = FederatedSpec(clients=3, rounds=1, local_epochs=1, batch_size=64, seed=2)
    with quiet():
        sim = simulate(spec, BuiltinTask.from_spec(spec))  # the task passed as an object, not made from the spec
    flat = run(spec)
    assert FederatedResult.of(sim).accuracy == flat.accuracy and sim.bytes_up == flat.bytes_up
    assert all(np.array_equal(v, flat.final_arrays[k]) for k, v in sim.hooks.final_arrays.items())
