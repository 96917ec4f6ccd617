"""Robust aggregation (robust.py, Flower's MultiKrum/Bulyan), the GraceGrid, and `federate --regions`.

Small fleets (5 clients, 2 rounds) and synthetic update matrices, so the file runs in seconds.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from flwr.app import Message, MessageType, MetricRecord, RecordDict
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity
from typer.testing import CliRunner

from pocketml.errors import PocketMLError
from pocketml.federated import FederatedSpec, run
from pocketml.federated.grace import GraceGrid
from pocketml.federated.robust import bound_norms, centered_clip


def _poisoned_round(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """16 honest updates scattered around a shared direction, 4 sending −4x their own update."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=200)
    honest = direction + 1.5 * rng.normal(size=(20, 200))  # non-IID: spread larger than the signal
    sent = honest.copy()
    sent[:4] *= -4.0
    return sent, honest[4:].mean(axis=0)


def test_norm_bound_caps_the_flipped_updates_at_the_median_norm():
    sent, _ = _poisoned_round()
    bounded, scale = bound_norms(sent, 1.0)
    norms = np.linalg.norm(bounded, axis=1)
    assert np.all(norms <= np.median(np.linalg.norm(sent, axis=1)) + 1e-9)
    assert np.all(scale[:4] < 0.5)  # the −4x updates are cut by more than half
    with pytest.raises(PocketMLError):
        FederatedSpec(norm_bound=0).validate()


def test_centered_clipping_stays_near_the_honest_mean_where_the_mean_does_not():
    sent, truth = _poisoned_round()
    clipped, tau = centered_clip(sent, np.zeros(200), iterations=3)
    error_mean = np.linalg.norm(sent.mean(axis=0) - truth)
    error_clipped = np.linalg.norm(clipped - truth)
    assert tau > 0 and error_clipped < 0.5 * error_mean
    assert error_clipped < 0.4 * np.linalg.norm(truth)  # the −4x updates cancel the honest ones in the mean


@pytest.mark.parametrize("strategy", ["centered-clip", "clipped-trimmed-mean"])
def test_robust_strategies_resist_sign_flipping_where_fedavg_does_not(strategy):
    poisoned = dict(clients=5, rounds=2, local_epochs=1, batch_size=64, lr=0.1, attack="sign-flip",
                    attack_fraction=0.2)
    fedavg, robust = run(**poisoned), run(**poisoned, strategy=strategy)
    assert robust.accuracy[-1] > fedavg.accuracy[-1] + 0.2


def test_bulyan_needs_4f_plus_3_clients_per_round():
    with pytest.raises(PocketMLError, match="4f"):
        FederatedSpec(clients=10, strategy="bulyan", attack="sign-flip", attack_fraction=0.2).validate()
    FederatedSpec(clients=20, fraction=1.0, strategy="bulyan", attack="sign-flip", attack_fraction=0.2).validate()
    with pytest.raises(PocketMLError, match="4f"):  # an explicit f = 5 needs 23 per round
        FederatedSpec(clients=20, strategy="bulyan", byzantine_f=5).validate()
    assert FederatedSpec(clients=20, strategy="multi-krum", byzantine_f=7).validate().assumed_f == 7


class _SilentNodeGrid(Grid):
    """Node 1 replies at once, node 2 never (a dead SuperNode)."""

    def __init__(self) -> None:
        self.outbox: dict[str, Message] = {}
        TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, SUPERLINK_NODE_ID  # as LocalFleet

    def set_run(self, run):  # noqa: D102
        pass

    @property
    def run(self):  # noqa: D102
        return None

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):  # noqa: D102
        return Message(content, dst_node_id, message_type, group_id=group_id)

    def get_node_ids(self):  # noqa: D102
        return [1, 2]

    def push_messages(self, messages):  # noqa: D102
        ids = []
        for i, msg in enumerate(messages):
            msg.metadata.__dict__["_message_id"] = f"m{i}"
            self.outbox[f"m{i}"] = msg
            ids.append(f"m{i}")
        return ids

    def pull_messages(self, message_ids):  # noqa: D102
        out = []
        for i in list(message_ids):
            if self.outbox[i].metadata.dst_node_id == 1:
                reply = Message(RecordDict({"metrics": MetricRecord({"x": 1.0})}), reply_to=self.outbox.pop(i))
                out.append(reply)
        return out

    def send_and_receive(self, messages, *, timeout=None):  # noqa: D102
        raise AssertionError("GraceGrid must not delegate the blocking call")


def test_grace_grid_stops_waiting_for_a_dead_node():
    grid = GraceGrid(_SilentNodeGrid(), factor=2.0, min_grace=0.3)
    messages = [Message(RecordDict(), node, MessageType.TRAIN) for node in (1, 2)]
    start = time.monotonic()
    replies = list(grid.send_and_receive(messages, timeout=60))
    assert len(replies) == 1 and time.monotonic() - start < 5
    assert grid.cut_short == [1]
    with pytest.raises(PocketMLError):
        GraceGrid(_SilentNodeGrid(), factor=0)


def test_cli_federate_regions(tmp_path):
    from pocketml.cli import app

    out = tmp_path / "fed"
    res = CliRunner().invoke(app, ["federate", "--clients", "4", "--rounds", "1", "--local-epochs", "1",
                                   "--regions", "2", "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output[res.output.index("{"):])
    assert report["regions"] == 2 and len(report["accuracy"]) == 1
    links = report["bytes"]
    assert links["cell_to_region"] > links["region_to_top"] > 0 and links["top_to_region"] > 0
    assert json.loads((out / "federated.json").read_text())["bytes"] == links
    refused = CliRunner().invoke(app, ["federate", "--clients", "4", "--regions", "2", "--dropout", "0.1",
                                       "--out", str(out)])
    assert isinstance(refused.exception, PocketMLError) and "--regions" in str(refused.exception)
    help_text = CliRunner().invoke(app, ["federate", "--help"]).output
    assert "--regions" in help_text and "region" in help_text


def test_secagg_plus_aggregate_equals_the_plain_aggregate_within_quantization(tmp_path):
    from pocketml.cli import app
    from pocketml.federated.builtin import client_indices
    from pocketml.federated.secagg import run_secagg

    small = dict(clients=4, rounds=1, local_epochs=1, batch_size=32)
    secure, plain = run_secagg(**small), run(**small)
    examples = [len(i) for i in client_indices("digits", 4, "iid", 0)]
    bound = secure.settings.error_bound(examples)
    assert 0 < bound < 1e-4
    worst = max(float(np.abs(secure.final_arrays[k] - plain.final_arrays[k]).max()) for k in plain.final_arrays)
    assert worst <= bound and secure.accuracy == pytest.approx(plain.accuracy, abs=1 / 360)
    assert secure.bytes_up[0] > plain.bytes_up[0]  # masked int vectors + key shares cost more than float32
    with pytest.raises(PocketMLError, match="FedAvg"):
        run_secagg(**small, strategy="median")
    res = CliRunner().invoke(app, ["federate", "--clients", "3", "--rounds", "1", "--local-epochs", "1",
                                   "--secagg", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output[res.output.index("{"):])
    assert len(report["accuracy"]) == 1 and report["bytes_up"] > 0 and report["secagg"]["step"] < 1e-4
