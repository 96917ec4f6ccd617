"""The ray backend: the same ServerApp/ClientApp on Flower's simulation runtime (Ray actors) give
the local backend's accuracy curve and byte counts; every Ray process is stopped afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pocketml import PocketMLError
from pocketml.federated import FleetProfile, RayOptions, run

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = dict(clients=4, rounds=3, local_epochs=1, fraction=0.5, seed=1)  # 2 of 4 sampled: sampling matters


def _processes_with(mark: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if mark in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_ray_backend_matches_the_local_backend(tmp_path):
    # Prepare: Ray's session files in a short temporary folder (its socket paths must stay short)
    ray_tmp = tempfile.mkdtemp(prefix="pml-ray-")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": ray_tmp, "FLWR_TELEMETRY_ENABLED": "0",
           "FLWR_HOME": str(tmp_path / "flwr-home"), "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1"}
    try:
        # Execute: the CLI on the ray backend (a local Ray of 2 CPUs, 1 per client), the API locally
        done = subprocess.run([sys.executable, "-m", "pocketml.cli", "federate", "--backend", "ray", "--clients", "4",
                               "--rounds", "3", "--local-epochs", "1", "--fraction", "0.5", "--seed", "1",
                               "--client-cpus", "1", "--out", str(tmp_path / "out"), "--json"],
                              env=env, capture_output=True, text=True, timeout=400)
        deadline, mark = time.monotonic() + 30, f"RAY_TMPDIR={ray_tmp}".encode()
        while (leftovers := _processes_with(mark)) and time.monotonic() < deadline:
            time.sleep(0.5)  # an actor process may take a second or two to exit after ray.shutdown()
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    on_ray = json.loads((tmp_path / "out" / "federated.json").read_text())
    local = run(**SETTINGS)
    # Assert: the same clients sampled (partition order, same seed), the same curve within tolerance
    assert on_ray["backend"] == "ray" and local.backend == "local"
    assert on_ray["accuracy"] == pytest.approx(list(local.accuracy), abs=0.02)
    assert on_ray["accuracy"][-1] > 0.85
    assert [r["sampled"] for r in on_ray["rounds"]] == [r.sampled for r in local.rounds] == [2, 2, 2]
    assert [r["replied"] for r in on_ray["rounds"]] == [2, 2, 2]
    # bytes: the same wire_bytes of the same messages; Flower's node ids are 64-bit random numbers
    # (LocalFleet's are 1..4), a few varint bytes more per message
    for ours, theirs in ((on_ray["bytes_up_per_round"], local.bytes_up), (on_ray["bytes_down_per_round"],
                                                                           local.bytes_down)):
        assert all(0 <= a - b <= 64 for a, b in zip(ours, theirs, strict=True)), (ours, theirs)
    # every Ray process (GCS, raylet, actors) stopped with the run
    assert leftovers == [], leftovers


def test_ray_backend_refuses_what_it_cannot_simulate():
    with pytest.raises(PocketMLError, match="always-online"):
        run(**SETTINGS, backend="ray", fleet=FleetProfile(dropout=0.1))
    with pytest.raises(PocketMLError, match="unknown backend"):
        run(**SETTINGS, backend="dask")
    with pytest.raises(PocketMLError, match="client resources"):
        run(**SETTINGS, backend="ray", ray=RayOptions(client_cpus=0))
    with pytest.raises(PocketMLError, match="for the local backend"):
        run(**SETTINGS, ray=RayOptions())
