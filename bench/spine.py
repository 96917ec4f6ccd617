"""Spine figures for BENCHMARKS.md: digits-cnn shrunk for every board, over several seeds.

    .venv/bin/python bench/spine.py [--seeds 3]

Prints a markdown table; every number comes from ``pocketml.shrink_builtin`` in this run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pocketml import load_catalogue, shrink
from pocketml.models import get_builtin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    spec = get_builtin("digits-cnn")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            t = time.perf_counter()
            model, data = spec.trained(seed=seed, progress=False)
            train_s = time.perf_counter() - t
            t = time.perf_counter()
            r = shrink(model, data.train.x, data.test, "nano33ble", Path(tmp) / f"s{seed}", name="digits-cnn")
            rows.append((seed, train_s, time.perf_counter() - t, r))
        print(f"### digits-cnn → nano33ble, {args.seeds} seeds (test split: {rows[0][3].n_test} samples)\n")
        print("| seed | float acc | int8 acc | C acc | C mismatches | float32 B | int8 B | ratio | arena B "
              "| RAM B | flash B | train s | shrink s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for seed, train_s, shrink_s, r in rows:
            s = r.size_bytes
            print(f"| {seed} | {r.accuracy['float']:.4f} | {r.accuracy['int8']:.4f} | {r.accuracy['c']:.4f} "
                  f"| {r.c_mismatches} | {s['float32']} | {s['int8']} | {s['float32'] / s['int8']:.2f} "
                  f"| {r.arena_bytes} | {r.ram_bytes} | {r.flash_bytes} | {train_s:.1f} | {shrink_s:.1f} |")
        drop = [100 * (r.accuracy["float"] - r.accuracy["int8"]) for *_, r in rows]
        print(f"\nmean int8 drop: {statistics.mean(drop):+.2f} points (max {max(drop):+.2f}); "
              f"total C mismatches: {sum(r.c_mismatches for *_, r in rows)}\n")

        model, data = spec.trained(seed=0, progress=False)
        print("### digits-cnn (seed 0) on every board in the catalogue\n")
        print("| board | core | fits | latency ms (estimate) | energy µJ (estimate) | reason |")
        print("|---|---|---|---|---|---|")
        for board in load_catalogue().values():
            r = shrink(model, data.train.x, data.test, board, Path(tmp) / board.id, name="digits-cnn",
                       report=False)
            print(f"| {board.id} | {board.core} | {r.fits} | {r.cost.latency_ms:.3f} | {r.cost.energy_uj:.1f} "
                  f"| {r.fit_reason} |")


if __name__ == "__main__":
    main()
