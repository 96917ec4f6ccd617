"""Large simulated fleets, local vs ray backend, for BENCHMARKS.md (issue 24): rerun with

    nice .venv/bin/python bench/federated_scale.py [--rounds 3] [--sizes 1000,10000]

digits-shifted (26,950 training images: digits shifted by up to 2 pixels), digits-cnn, FedAvg,
1% of the clients per round, 1 local epoch. Each configuration is one `pocketml federate` process;
its peak memory is the largest sum of resident set sizes over that process and all its
descendants (Ray's GCS, raylet and actor processes included; shared pages are counted once per
process, so this overstates), sampled every 0.2 s. Time per round = the run's wall time / rounds
(the ray backend's Ray start-up is outside it; printed separately as the process's total).

Writes out/bench/federated_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def one(backend: str, clients: int, rounds: int, tmp: Path) -> dict:
    out = tmp / f"{backend}-{clients}"
    ray_tmp = tempfile.mkdtemp(prefix="pml-ray-")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": ray_tmp, "FLWR_TELEMETRY_ENABLED": "0",
           "FLWR_HOME": str(tmp / "flwr-home"), "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1"}
    args = [sys.executable, "-m", "pocketml.cli", "federate", "--dataset", "digits-shifted", "--clients", str(clients),
            "--fraction", "0.01", "--rounds", str(rounds), "--local-epochs", "1", "--seed", "0", "--backend", backend,
            "--out", str(out), "--json"]
    start = time.perf_counter()
    log = open(tmp / f"{backend}-{clients}.log", "wb")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log)
    peak, watched = 0, psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, tree_rss(watched))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = proc.wait()
    sampler.join()
    shutil.rmtree(ray_tmp, ignore_errors=True)
    if code != 0:
        raise SystemExit((tmp / f"{backend}-{clients}.log").read_text()[-3000:])
    result = json.loads((out / "federated.json").read_text())
    return dict(backend=backend, clients=clients, per_round=result["rounds"][0]["sampled"],
                seconds_per_round=result["seconds_per_round"], process_seconds=time.perf_counter() - start,
                peak_rss_mb=peak / 2**20, accuracy=result["accuracy"], bytes_up=result["bytes_up"],
                bytes_down=result["bytes_down"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--backends", default="local,ray")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pocketml-fed-scale-") as tmp:
        for clients in [int(x) for x in args.sizes.split(",")]:
            for backend in args.backends.split(","):
                rows.append(one(backend, clients, args.rounds, Path(tmp)))
                print(f"{backend} {clients}: {rows[-1]['seconds_per_round']:.1f} s/round", flush=True)
    print(f"\n### Large fleets: digits-shifted, 1% of clients per round, {args.rounds} rounds, 1 local epoch "
          f"(2 cores; load average {os.getloadavg()[0]:.1f} at the end)\n")
    print("| backend | clients | per round | s/round | process s (start-up included) | peak RSS, all processes | "
          "accuracy after each round | bytes up | bytes down |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['clients']:,} | {r['per_round']} | {r['seconds_per_round']:.1f} | "
              f"{r['process_seconds']:.0f} | {r['peak_rss_mb']:,.0f} MB | "
              f"{', '.join(f'{a:.3f}' for a in r['accuracy'])} | {r['bytes_up']:,} | {r['bytes_down']:,} |")
    out = ROOT / "out" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "federated_scale.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
