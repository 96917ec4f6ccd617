"""A real Flower deployment started by the test: SuperLink + 2 SuperNodes, TLS, node authentication.

Runs pocketml's ServerApp/ClientApp on loopback for 3 rounds: rounds 1-2 with both SuperNodes
(the same model as the in-process simulation), then one SuperNode is SIGKILLed (a crash, no
goodbye) once round 2's checkpoint is written, and round 3 completes with the node that is left.
Checks that an unregistered node is refused, that the report says how many clients took part in
each round, and that every process stops cleanly. Flower's home stays inside tmp_path.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from pocketml.federated import run as run_simulated
from pocketml.federated.deployment import LocalDeployment, write_app
from pocketml.federated.spec import FederatedSpec

RUN_TIMEOUT = 480  # seconds; each ClientApp is a fresh Python process importing torch and Flower


def _checkpoint_round(path) -> int:
    try:
        with np.load(path) as z:
            return int(z["round"])
    except (OSError, KeyError, ValueError, EOFError):
        return 0  # not written yet (the server renames a complete file into place)


def test_superlink_and_supernodes_with_tls_node_auth_and_a_killed_node(tmp_path):
    spec = FederatedSpec(clients=2, rounds=3, local_epochs=1, batch_size=16, lr=0.05)
    report, checkpoint = tmp_path / "report.json", tmp_path / "global.npz"
    # round-grace 2: once a round's first reply is in after t s, wait ≤ max(10 s, 2t) for the others
    app = write_app(tmp_path / "app", spec, report, extra={"checkpoint": str(checkpoint), "round-grace": 2.0})
    with LocalDeployment(tmp_path / "deploy", nodes=2) as link:
        link.start_superlink()
        link.wait_for_port(link.port)
        for i in range(2):
            registered = link.register(i)
            assert registered.returncode == 0 and "registered" in registered.stdout, registered.stderr
        nodes = [link.start_supernode(i, partitions=2) for i in range(2)]
        link.start_supernode(2, partitions=2)  # its key was never registered

        flwr_run = link.submit(app)
        deadline = time.monotonic() + RUN_TIMEOUT
        while _checkpoint_round(checkpoint) < 2 and flwr_run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _checkpoint_round(checkpoint) == 2, link.log("flwr-run")[-3000:]
        killed_at = time.monotonic()
        assert link.kill("supernode1"), "supernode1 was not running"
        flwr_run.wait(timeout=max(1.0, deadline - time.monotonic()))
        after_kill = time.monotonic() - killed_at
        assert flwr_run.returncode == 0, link.log("flwr-run")[-3000:]

        outcome = json.loads(report.read_text())
        assert len(outcome["accuracy"]) == 3 and outcome["accuracy"][1] > 0.8  # simulation: 0.77, 0.92
        assert outcome["rejected"] == 0
        # both nodes trained in rounds 1-2; round 3 finished with the survivor alone
        assert outcome["clients_per_round"] == [2, 2, 1], outcome
        assert outcome["sampled_per_round"][:2] == [2, 2] and outcome["sampled_per_round"][2] in (1, 2)
        assert outcome["accuracy"][2] > 0.5
        print(f"round 3 finished {after_kill:.1f} s after the kill; report: {outcome}")

        deadline = time.monotonic() + 60
        while "Failed to activate SuperNode" not in link.log("supernode2") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Failed to activate SuperNode" in link.log("supernode2"), link.log("supernode2")[-2000:]
        assert "No SuperNode found with the given public key" in link.log("superlink")
        assert nodes[0].poll() is None and nodes[1].poll() == -9  # the survivor still serves; the victim died
        killed = link.stop()
    assert killed == [] and link.leftovers() == []
    assert all(p.returncode is not None for p in link.processes)
    # rounds 1-2: the same apps, simulated in-process, reach the same model (same seeds; 1 torch thread each)
    two_rounds = FederatedSpec(**{**spec.__dict__, "rounds": 2})
    assert run_simulated(two_rounds).accuracy == pytest.approx(outcome["accuracy"][:2], abs=0.02)
