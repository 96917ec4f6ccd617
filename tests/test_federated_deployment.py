"""The deployment recipe of docs/federated.md, run block by block on 127.0.0.1.

SuperLink on loopback behind an nginx TLS proxy that publishes only the Fleet API, node keys
registered by the operator, two SuperNodes + one unregistered, pocketml's ServerApp/ClientApp
for 3 rounds; after round 2 one SuperNode is SIGKILLed (a crash, no goodbye) and round 3
completes with the other. Refused: a plaintext client, a client trusting another CA, an
unregistered node, and key registration through the network port. Every process is stopped.
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from pocketml.federated import run as run_simulated
from pocketml.federated.deployment import LocalDeployment, free_port
from pocketml.federated.spec import FederatedSpec

DOC = Path(__file__).resolve().parents[1] / "docs" / "federated.md"
RUN_TIMEOUT = 480  # seconds; each ClientApp is a fresh Python process importing torch and Flower


def recipe() -> dict[str, str]:
    """The docs' shell blocks, by their ``# recipe: NAME`` first line."""
    blocks = re.findall(r"```bash\n# recipe: ([\w-]+)\n(.*?)```", DOC.read_text(), flags=re.S)
    return {name: body for name, body in blocks}


def _checkpoint_round(path) -> int:
    try:
        with np.load(path) as z:
            return int(z["round"])
    except (OSError, KeyError, ValueError, EOFError):
        return 0  # not written yet (the server renames a complete file into place)


@pytest.fixture
def steps():
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; `make test` does it)")
    return recipe()


def test_recipe_tls_node_auth_operator_only_registration_and_a_killed_node(tmp_path, steps):
    assert set(steps) == {"settings", "certs", "node-key", "superlink", "proxy", "register", "supernode", "run"}
    fleet_port, link_port = free_port(), free_port()

    def script(name: str, **host: str) -> list[str]:  # the recipe's settings, this machine's names, the block
        ours = dict(LINK_HOST="localhost", FLEET_PORT=fleet_port, LINK_PORT=link_port, **host)
        exports = "export " + " ".join(f"{k}={v}" for k, v in ours.items()) + "\n"
        return ["bash", "-euo", "pipefail", "-c", steps["settings"] + exports + steps[name]]

    with LocalDeployment(tmp_path / "deploy") as d:
        link = d.host("link")
        # 1-2: certificates on the SuperLink host, a key pair on each SuperNode host
        assert d.run(script("certs"), "link").returncode == 0
        for i in range(3):  # node2's key is never registered
            assert d.run(script("node-key"), f"node{i}").returncode == 0
            shutil.copy(link / "certs" / "ca.crt", d.host(f"node{i}") / "ca.crt")
        (link / "keys").mkdir()
        for i in range(2):
            shutil.copy(d.host(f"node{i}") / "node.key.pub", link / "keys" / f"node{i}.pub")
        # 3-5: SuperLink on loopback, the proxy on the network port, the operator registers both keys
        d.start("superlink", script("superlink"), "link")
        d.wait_for_port(link_port)
        d.start("proxy", script("proxy"), "link")
        d.wait_for_port(fleet_port)
        registered = d.run(script("register"), "link")
        assert registered.returncode == 0 and registered.stdout.count("registered") == 2, registered.stderr

        # refused: registering through the network port (anyone who has the CA certificate)
        outsider = d.host("outsider")
        (outsider / "flwr-home" / "config.toml").write_text(
            f'[superlink]\ndefault = "remote"\n\n[superlink.remote]\naddress = "localhost:{fleet_port}"\n'
            f'root-certificates = "{link / "certs" / "ca.crt"}"\n')
        shutil.copy(d.host("node2") / "node.key.pub", outsider / "node2.pub")
        sneaky = d.run(["flwr", "supernode", "register", "node2.pub", "remote"], "outsider")
        assert sneaky.returncode != 0 and "registered" not in sneaky.stdout, sneaky.stdout
        # refused: plaintext, to the proxy and to the SuperLink itself
        for port in (fleet_port, link_port):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/fleet/pull-messages", b"", timeout=10):
                    answered = True
            except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError, OSError) as exc:
                answered = isinstance(exc, urllib.error.HTTPError) and exc.code < 400
            assert not answered
        ctx = ssl.create_default_context(cafile=str(link / "certs" / "ca.crt"))
        with pytest.raises(urllib.error.HTTPError, match="403"):  # TLS fine, the Control API is not published
            urllib.request.urlopen(f"https://localhost:{fleet_port}/v1/control/list-runs", b"", context=ctx)

        # 6: the SuperNodes (node2 unregistered), plus a plaintext one and one trusting another CA
        for i, node_id in ((0, 0), (1, 1), (2, 0)):
            d.start(f"supernode{i}", script("supernode", NODE=node_id, NODES=2, NODE_PORT=free_port()),
                    f"node{i}")  # several SuperNodes on one host: one local port each
        other = d.host("other")
        assert d.run(script("certs"), "other").returncode == 0  # another CA, same commands
        assert d.run(script("node-key"), "other").returncode == 0
        shutil.copy(other / "certs" / "ca.crt", other / "ca.crt")
        d.start("other-ca", script("supernode", NODE=0, NODES=2, NODE_PORT=free_port()), "other")
        plain = ["flower-supernode", "--insecure", "--superlink", f"localhost:{fleet_port}",
                 "--auth-supernode-private-key", "node.key", "--node-config", "partition-id=0 num-partitions=2",
                 "--port", str(free_port()), "--max-retries", "3", "--max-wait-time", "20"]
        d.start("plaintext", plain, "other")

        # 7: the run; SIGKILL SuperNode 1 once round 2 is checkpointed
        flwr_run = d.start("flwr-run", script("run", NODES=2), "link")
        checkpoint, report = link / "global.npz", link / "report.json"
        deadline = time.monotonic() + RUN_TIMEOUT
        while _checkpoint_round(checkpoint) < 2 and flwr_run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _checkpoint_round(checkpoint) == 2, d.log("flwr-run")[-3000:]
        killed_at = time.monotonic()
        assert d.kill("supernode1"), "supernode1 was not running"
        flwr_run.wait(timeout=max(1.0, deadline - time.monotonic()))
        after_kill = time.monotonic() - killed_at
        assert flwr_run.returncode == 0, d.log("flwr-run")[-3000:]

        outcome = json.loads(report.read_text())
        assert len(outcome["accuracy"]) == 3 and outcome["accuracy"][1] > 0.8  # simulation: 0.77, 0.92
        assert outcome["rejected"] == 0
        assert outcome["clients_per_round"] == [2, 2, 1], outcome  # round 3: the survivor alone
        assert outcome["sampled_per_round"][:2] == [2, 2] and outcome["sampled_per_round"][2] in (1, 2)
        assert outcome["accuracy"][2] > 0.5
        print(f"round 3 finished {after_kill:.1f} s after the kill; report: {outcome}")

        deadline = time.monotonic() + 60
        while "Failed to activate SuperNode" not in d.log("supernode2") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Failed to activate SuperNode" in d.log("supernode2"), d.log("supernode2")[-2000:]
        assert "No SuperNode found with the given public key" in d.log("superlink")
        for name in ("other-ca", "plaintext"):  # never connected, gave up
            proc = next(p for p in d.processes if p.name == name)
            proc.wait(timeout=120)
            assert proc.returncode != 0 and "Activated" not in d.log(name), d.log(name)[-2000:]
        assert "CERTIFICATE_VERIFY_FAILED" in d.log("other-ca"), d.log("other-ca")[-2000:]
        survivor, victim = (next(p for p in d.processes if p.name == n) for n in ("supernode0", "supernode1"))
        assert survivor.poll() is None and victim.poll() is not None  # the survivor still serves; the victim died
        killed = d.stop()
    assert killed == [] and d.leftovers() == []
    assert all(p.returncode is not None for p in d.processes)
    # rounds 1-2: the same apps, simulated in-process, reach the same model (same seeds; 1 torch thread each)
    two_rounds = FederatedSpec(clients=2, rounds=2, local_epochs=1, batch_size=16, lr=0.05)
    assert run_simulated(two_rounds).accuracy == pytest.approx(outcome["accuracy"][:2], abs=0.02)
