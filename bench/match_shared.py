"""`pocketml match` shared through Optuna's storage, for BENCHMARKS.md (issue 24): rerun with

    nice .venv/bin/python bench/match_shared.py [--trials 24] [--workers 1,2,4]

For each worker count W: Optuna's gRPC proxy (`pocketml match-server`, SQLite behind it), the
study's creator (`pocketml match --storage grpc://... --study ...`) and W − 1 `pocketml
match-worker` processes, all on this machine (one torch thread each), the same seed and trial
budget. Prints trials per minute of the search (the creator's `search_seconds`) and the chosen
model. Then the same with 2 workers, one of them SIGKILLed inside its first trial: the study
goes on, the dead trial is failed and retried, and the chosen model is the same.

Every process and server is started and stopped here (free ports, a temporary folder).
Writes out/bench/match_shared.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "pocketml.cli", *args], env=env, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT)


def stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def running_trial_of(storage, study: str, pid: int) -> int | None:
    try:
        trials = optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    except KeyError:
        return None
    return next((t.number for t in trials if t.state == optuna.trial.TrialState.RUNNING
                 and t.user_attrs.get("worker", "").endswith(f":{pid}")), None)


def one(tmp: Path, workers: int, search: list[str], kill: bool) -> dict:
    name = f"w{workers}{'-kill' if kill else ''}"
    port = free_port()
    server = start(["match-server", "--storage", f"sqlite:///{tmp / (name + '.db')}", "--port", str(port)],
                   tmp / f"{name}-server.log")
    url = f"grpc://127.0.0.1:{port}"
    storage = optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=port)
    try:  # the proxy first (a loaded machine can take a while to import it)
        storage.wait_server_ready(timeout=300)
    except ConnectionError:
        stop(server)
        raise SystemExit((tmp / f"{name}-server.log").read_text()[-3000:]) from None
    helpers = [start(["match-worker", "--storage", url, "--study", name, "--json"], tmp / f"{name}-w{i}.log")
               for i in range(workers - 1)]
    creator = start(["match", *search, "--storage", url, "--study", name, "--grace", "20",
                     "--out", str(tmp / name), "--json"], tmp / f"{name}.log")
    killed = None
    try:
        if kill:
            victim = helpers[0]
            while killed is None and creator.poll() is None:
                time.sleep(0.05)
                victim.send_signal(signal.SIGSTOP)
                killed = running_trial_of(storage, name, victim.pid)
                if killed is None:
                    victim.send_signal(signal.SIGCONT)
            victim.kill()
        if creator.wait() != 0:
            raise SystemExit((tmp / f"{name}.log").read_text()[-3000:])
        for h in helpers:
            h.wait(timeout=120)
    finally:
        stop(creator, *helpers, server)
    result = json.loads((tmp / name / "match.json").read_text())
    shared = result["settings"]["shared"]
    return dict(workers=workers, killed_trial=killed, search_seconds=result["search_seconds"],
                trials=shared["slots_finished"], failed=shared["failed_trials"],
                trials_per_minute=60 * shared["slots_finished"] / result["search_seconds"],
                by_worker=sorted(shared["trials_by_worker"].values(), reverse=True),
                chosen=result["chosen"]["label"], accuracy=result["chosen"]["accuracy"],
                flash=result["chosen"]["flash_bytes"],
                candidates=[(c["label"], c["accuracy"]) for c in result["candidates"]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--search-epochs", type=int, default=4)
    ap.add_argument("--final-epochs", type=int, default=10)
    ap.add_argument("--device", default="nano33ble")
    args = ap.parse_args()
    search = ["--device", args.device, "--trials", str(args.trials), "--search-epochs", str(args.search_epochs),
              "--final-epochs", str(args.final_epochs), "--seed", "0", "--batch", "4", "--timeout", "3600"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="pocketml-match-bench-") as tmp:
        for w in [int(x) for x in args.workers.split(",")]:
            rows.append(one(Path(tmp), w, search, kill=False))
            print(f"{w} worker(s): {rows[-1]['trials_per_minute']:.1f} trials/min", flush=True)
        rows.append(one(Path(tmp), 2, search, kill=True))
    same = all(r["candidates"] == rows[0]["candidates"] and r["chosen"] == rows[0]["chosen"] for r in rows)
    print(f"\n### match shared through Optuna's storage: {args.device}, {args.trials} trials, seed 0, "
          f"batch 4, all families (load average {os.getloadavg()[0]:.1f} at the end, 2 cores)\n")
    print("| worker processes | trials/min | search s | trials per process | failed trials | chosen | "
          "test acc (C) | flash B |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        label = f"{r['workers']}" + (f", one SIGKILLed in trial {r['killed_trial']}" if r["killed_trial"] is not None
                                     else "")
        print(f"| {label} | {r['trials_per_minute']:.1f} | {r['search_seconds']:.0f} | "
              f"{'/'.join(map(str, r['by_worker']))} | {r['failed']} | {r['chosen']} | {r['accuracy']:.4f} | "
              f"{r['flash']:,} |")
    print(f"\nsame candidates, values and chosen model in every run: {same}")
    out = ROOT / "out" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "match_shared.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
