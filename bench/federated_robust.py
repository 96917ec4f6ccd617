"""Robust aggregation under a 20% poisoning attack, every strategy beside FedAvg (issue #7): rerun with

    nice -n 10 .venv/bin/python bench/federated_robust.py [--seeds 0,1,2] [--rounds 20] \
        [--strategies fedavg,median,trimmed-mean,krum,multi-krum,bulyan,clipped-trimmed-mean@0.3,centered-clip]

digits-cnn on scikit-learn digits, 100 clients, Dirichlet α = 0.5, 20 sampled per round, the same
rounds for every strategy. The attack (client_app.py): a seeded 20% of the clients (20 of 100)
are poisoned; whenever one is sampled it trains honestly, then sends ``−4 ×`` its true update
(a scaled sign-flip). Sampling is uniform, so a round draws 0-9 attackers (4 on average).
``NAME@BETA`` sets the trimmed share β of trimmed-mean / clipped-trimmed-mean; ``NAME@fN`` the
number of poisoned clients per round Krum / Multi-Krum / Bulyan assume (default ⌈0.2 · 20⌉ = 4;
f = 7 is the 95th percentile of the attackers a round draws).

Each strategy runs clean and poisoned for every seed (the seed changes the partition, the poisoned
clients, the sampling and the initial model); the table shows means over the seeds, the loss
against the strategy's own clean run and against clean FedAvg. Writes out/bench/federated_robust.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from pocketml.federated import run

BASE = dict(dataset="digits", clients=100, partition="dirichlet:0.5", fraction=0.2)
STRATEGIES = ("fedavg", "centered-clip", "trimmed-mean", "median", "krum", "multi-krum", "bulyan",
              "clipped-trimmed-mean")


def settings(label: str) -> dict:
    """``NAME``, ``NAME@BETA`` (trimmed share) or ``NAME@fN`` (the f Krum/Bulyan assume)."""
    name, _, option = label.partition("@")
    if option.startswith("f"):
        return dict(strategy=name, byzantine_f=int(option[1:]))
    return dict(strategy=name, **({"trim_beta": float(option)} if option else {}))


def measure(label: str, seeds: list[int], rounds: int) -> dict:
    """Clean and poisoned final accuracy of one strategy for every seed."""
    clean, bad = [], []
    for seed in seeds:
        clean.append(run(**BASE, **settings(label), rounds=rounds, seed=seed).final_accuracy)
        bad.append(run(**BASE, **settings(label), rounds=rounds, seed=seed, attack="sign-flip",
                       attack_fraction=0.2).final_accuracy)
        print(f"  {label} seed {seed}: clean {clean[-1]:.4f} poisoned {bad[-1]:.4f}", flush=True)
    return dict(strategy=label, clean=clean, poisoned=bad, clean_mean=statistics.fmean(clean),
                poisoned_mean=statistics.fmean(bad), rounds=rounds, seeds=seeds)


def table(rows: list[dict], rounds: int) -> str:
    fedavg = next((dict(zip(r["seeds"], r["clean"], strict=True)) for r in rows if r["strategy"] == "fedavg"), None)
    lines = [f"### 20% poisoned clients (sign-flip, −4x update): digits, 100 clients, Dirichlet 0.5, "
             f"20 per round, {rounds} rounds", "",
             "| strategy | seeds | clean | 20% poisoned | loss vs its clean run (points) | "
             "loss vs clean FedAvg (points) | worst seed: loss vs its clean run |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        same_seeds = fedavg is not None and all(s in fedavg for s in r["seeds"])
        vs_fedavg = (f"{100 * (statistics.fmean(fedavg[s] for s in r['seeds']) - r['poisoned_mean']):.2f}"
                     if same_seeds else "—")  # clean FedAvg over the same seeds
        worst = max(100 * (c - p) for c, p in zip(r["clean"], r["poisoned"], strict=True))
        lines.append(f"| {r['strategy']} | {','.join(map(str, r['seeds']))} | {r['clean_mean']:.2%} | "
                     f"{r['poisoned_mean']:.2%} | {100 * (r['clean_mean'] - r['poisoned_mean']):.2f} | "
                     f"{vs_fedavg} | {worst:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("out/bench/federated_robust.json"))
    parser.add_argument("--table-only", action="store_true", help="print the table of the strategies in --out")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.table_only:
        saved = json.loads(args.out.read_text())
        rows = [saved[label] for label in args.strategies.split(",") if label in saved]
        print(table(rows, rows[0]["rounds"]))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for label in args.strategies.split(","):
        rows.append(measure(label, seeds, args.rounds))
        existing = json.loads(args.out.read_text()) if args.out.exists() else {}
        existing[label] = rows[-1]  # saved after each strategy: a long run can be read while it goes
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(existing, indent=2))
        tmp.replace(args.out)
    print("\n" + table(rows, args.rounds))


if __name__ == "__main__":
    main()
