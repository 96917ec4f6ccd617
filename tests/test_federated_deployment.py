"""A real Flower deployment started by the test: SuperLink + 2 SuperNodes, TLS, node authentication.

Runs pocketml's ServerApp/ClientApp for 2 rounds on loopback, checks that an unregistered node is
refused, and that every process stops cleanly. Flower's home stays inside tmp_path.
"""

from __future__ import annotations

import json
import time

import pytest

from pocketml.federated import run as run_simulated
from pocketml.federated.deployment import LocalDeployment, write_app
from pocketml.federated.spec import FederatedSpec

RUN_TIMEOUT = 420  # seconds; each ClientApp is a fresh Python process importing torch and Flower


def test_superlink_and_supernodes_with_tls_and_node_auth(tmp_path):
    spec = FederatedSpec(clients=2, rounds=2, local_epochs=1, batch_size=16, lr=0.05)
    report = tmp_path / "report.json"
    app = write_app(tmp_path / "app", spec, report)
    with LocalDeployment(tmp_path / "deploy", nodes=2) as link:
        link.start_superlink()
        link.wait_for_port(link.port)
        for i in range(2):
            registered = link.register(i)
            assert registered.returncode == 0 and "registered" in registered.stdout, registered.stderr
        nodes = [link.start_supernode(i, partitions=2) for i in range(2)]
        link.start_supernode(2, partitions=2)  # its key was never registered

        run = link.flwr("run", str(app), "local", "--stream", timeout=RUN_TIMEOUT)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        outcome = json.loads(report.read_text())
        assert len(outcome["accuracy"]) == 2 and outcome["accuracy"][-1] > 0.8  # simulation: 0.77, 0.92
        assert outcome["rejected"] == 0

        deadline = time.monotonic() + 60
        while "Failed to activate SuperNode" not in link.log("supernode2") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Failed to activate SuperNode" in link.log("supernode2"), link.log("supernode2")[-2000:]
        assert "No SuperNode found with the given public key" in link.log("superlink")
        assert all(node.poll() is None for node in nodes)  # the authorised nodes are still serving
        killed = link.stop()
    assert killed == [] and link.leftovers() == []
    assert all(p.returncode is not None for p in link.processes)
    # the same apps, simulated in-process, reach the same model (same seeds; 1 torch thread each)
    assert run_simulated(spec).accuracy == pytest.approx(outcome["accuracy"], abs=0.02)
