"""Federated learning figures for BENCHMARKS.md (issue #7): rerun with

    nice .venv/bin/python bench/federated.py [--only compress,robust,privacy,scale] [--rounds 30]

* compress: float32 FedAvg vs int8 / top-k / int8+top-k updates (error feedback), side by side,
  in four settings (20 or 100 clients, 5 or 30 rounds, Dirichlet 0.5 or 0.1) and three seeds
  (``--seeds``): final accuracy, worst seed, runs that collapsed to chance, uplink bytes;
* robust:   20% of clients poisoned (sign-flip, -4x) — FedAvg vs median / trimmed mean / Krum,
  each beside its clean run;
* privacy:  accuracy at ε ∈ {1, 4, 8, ∞} (δ = 1e-5), server-side clipping + Gaussian noise,
  ε from Flower's RDP accountant;
* scale:    1,000 clients, 10% per round: seconds per round and peak resident memory.

Prints markdown tables and writes out/bench/federated.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from pocketml.federated import run

BASE = dict(dataset="digits", clients=100, partition="dirichlet:0.5", fraction=0.2, seed=0)


CODECS = ("none", "int8", "topk", "int8-topk")
SETTINGS = (  # (clients, share sampled per round, rounds, Dirichlet alpha): the command first
    (20, 1.0, 5, 0.5),
    (20, 1.0, 30, 0.1),
    (100, 0.2, 30, 0.5),
    (100, 0.2, 30, 0.1),
)
CHANCE = 0.2  # digits has 10 classes: a round at or below this after one above 0.5 is a collapse


def collapsed(accuracy: list[float]) -> bool:
    """A run that once learned (a round ≥ 0.5) and later fell to chance (≤ 0.2)."""
    learned = [i for i, a in enumerate(accuracy) if a >= 0.5]
    return bool(learned) and min(accuracy[learned[0]:]) <= CHANCE


def compress(rounds: int, seeds: tuple[int, ...] = (0, 1, 2), settings=SETTINGS) -> list[dict]:
    """Every codec in every setting and seed, side by side; ``rounds`` is unused (each setting has its own)."""
    rows = []
    for clients, fraction, n_rounds, alpha in settings:
        for codec in CODECS:
            for seed in seeds:
                r = run(dataset="digits", clients=clients, fraction=fraction, rounds=n_rounds,
                        partition=f"dirichlet:{alpha}", compress=codec, seed=seed)
                rows.append(dict(clients=clients, fraction=fraction, rounds=n_rounds, alpha=alpha, compress=codec,
                                 seed=seed, accuracy=list(r.accuracy), final_accuracy=r.final_accuracy,
                                 collapsed=collapsed(list(r.accuracy)), bytes_up=r.total_bytes_up,
                                 bytes_down=r.total_bytes_down, seconds=r.wall_time_s))
                print(f"  {clients} clients, {n_rounds} rounds, alpha {alpha}, {codec}, seed {seed}: "
                      f"final {r.final_accuracy:.2%}, lowest after learning "
                      f"{min(r.accuracy[-max(1, n_rounds // 2):]):.2%}", flush=True)
    print(f"\n### Compressed updates across settings and seeds {','.join(map(str, seeds))} "
          "(digits-cnn, Dirichlet label skew)\n")
    print("| clients (per round) | rounds | α | uplink | final accuracy, mean | worst seed | "
          "Δ vs float32 (points) | collapsed runs | bytes up | uplink reduction |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for clients, fraction, n_rounds, alpha in settings:
        group = [r for r in rows if (r["clients"], r["rounds"], r["alpha"]) == (clients, n_rounds, alpha)]
        base = [r for r in group if r["compress"] == "none"]
        base_acc = sum(r["final_accuracy"] for r in base) / len(base)
        base_up = sum(r["bytes_up"] for r in base) / len(base)
        for codec in CODECS:
            mine = [r for r in group if r["compress"] == codec]
            acc = sum(r["final_accuracy"] for r in mine) / len(mine)
            up = sum(r["bytes_up"] for r in mine) / len(mine)
            print(f"| {clients} ({round(clients * fraction)}) | {n_rounds} | {alpha} | {codec} | {acc:.2%} | "
                  f"{min(r['final_accuracy'] for r in mine):.2%} | {100 * (acc - base_acc):+.2f} | "
                  f"{sum(r['collapsed'] for r in mine)} of {len(mine)} | {up:,.0f} | {base_up / up:.1f}x |")
    return rows


STRATEGIES = ("fedavg", "median", "trimmed-mean", "krum")


def robust(rounds: int, strategies: tuple[str, ...] = STRATEGIES) -> list[dict]:
    rows = []
    for strategy in strategies:
        clean = run(**BASE, rounds=rounds, strategy=strategy)
        bad = run(**BASE, rounds=rounds, strategy=strategy, attack="sign-flip", attack_fraction=0.2)
        rows.append(dict(strategy=strategy, clean=clean.final_accuracy, poisoned=bad.final_accuracy))
    print(f"\n### 20% poisoned clients (sign-flip, -4x update): digits, 100 clients, Dirichlet 0.5, {rounds} rounds\n")
    print("| strategy | clean | 20% poisoned | loss (points) |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['strategy']} | {row['clean']:.2%} | {row['poisoned']:.2%} | "
              f"{100 * (row['clean'] - row['poisoned']):.2f} |")
    return rows


def privacy(rounds: int) -> list[dict]:
    rows = []
    for eps in (1.0, 4.0, 8.0, math.inf):
        r = run(dataset="digits", clients=100, partition="dirichlet:0.5", fraction=1.0, seed=0, rounds=rounds,
                dp_epsilon=eps, dp_clip=0.5, local_epochs=1)
        rows.append(dict(target_epsilon=eps, epsilon=r.epsilon, noise_multiplier=r.noise_multiplier,
                         final_accuracy=r.final_accuracy))
    print(f"\n### Privacy/accuracy: digits, 100 clients (all per round), Dirichlet 0.5, {rounds} rounds, "
          "1 local epoch, clip 0.5, δ = 1e-5\n")
    print("| target ε | accounted ε | noise multiplier | final accuracy |")
    print("|---|---|---|---|")
    for row in rows:
        eps = "∞" if math.isinf(row["target_epsilon"]) else f"{row['target_epsilon']:g}"
        got = "—" if row["epsilon"] is None else f"{row['epsilon']:.2f}"
        z = "0 (no DP)" if row["noise_multiplier"] is None else f"{row['noise_multiplier']:.2f}"
        print(f"| {eps} | {got} | {z} | {row['final_accuracy']:.2%} |")
    return rows


def scale(rounds: int) -> dict:
    start = time.perf_counter()
    r = run(dataset="digits", clients=1000, partition="iid", fraction=0.1, rounds=rounds, seed=0,
            local_epochs=1)
    row = dict(clients=1000, per_round=100, rounds=rounds, seconds_per_round=r.wall_time_s / rounds,
               total_seconds=time.perf_counter() - start, peak_rss_mb=r.peak_rss_bytes / 2**20,
               final_accuracy=r.final_accuracy, bytes_up_per_round=r.total_bytes_up / rounds)
    print(f"\n### 1,000 clients, 10% per round, {rounds} rounds (this 2-core machine)\n")
    print("| clients | per round | s / round | peak RSS (MiB) | final accuracy | bytes up / round |")
    print("|---|---|---|---|---|---|")
    print(f"| 1,000 | 100 | {row['seconds_per_round']:.2f} | {row['peak_rss_mb']:.0f} | "
          f"{row['final_accuracy']:.2%} | {row['bytes_up_per_round']:,.0f} |")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="compress,robust,privacy,scale")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--privacy-rounds", type=int, default=15)
    parser.add_argument("--scale-rounds", type=int, default=5)
    parser.add_argument("--seeds", default="0,1,2", help="compress: seeds of every setting (comma list)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="robust: which strategies (comma list)")
    parser.add_argument("--out", type=Path, default=Path("out/bench/federated.json"))
    args = parser.parse_args()
    parts = args.only.split(",")
    figures = {}
    for part in parts:
        rounds = {"scale": args.scale_rounds, "privacy": args.privacy_rounds}.get(part, args.rounds)
        if part == "compress":
            figures[part] = compress(rounds, tuple(int(x) for x in args.seeds.split(",")))
        elif part == "robust":
            figures[part] = robust(rounds, tuple(args.strategies.split(",")))
        else:
            figures[part] = {"compress": compress, "privacy": privacy, "scale": scale}[part](rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing.update(figures)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(existing, indent=2, default=str))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
