"""Benchmark ``pocketml match``: the matched, verified model on boards from 2 KB to 1 MB of SRAM.

    .venv/bin/python bench/match.py [--boards uno nucleo_l476rg nano33ble portenta_h7] [--trials 40]

Prints markdown (the BENCHMARKS.md section):
1. per board: the chosen model, its test accuracy (verified C), flash, RAM, latency, search time;
2. on nano33ble: the hand-written baseline digits-cnn, shrunk in the same run, against the match;
3. the "more channels, fewer layers, smaller kernels" check: each axis value's share of the
   Pareto front against its share of the trained candidates, pooled over the boards' searches.

Default settings throughout (``match``'s defaults), so the search times are those a user gets.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from pocketml.pipeline import shrink_builtin
from pocketml.search import match

BOARDS = ("uno", "nucleo_l476rg", "nano33ble", "portenta_h7")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", nargs="+", default=list(BOARDS))
    ap.add_argument("--trials", type=int, default=None, help="override match's default n_trials")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("out/bench_match"))
    args = ap.parse_args()
    kwargs = {} if args.trials is None else {"n_trials": args.trials}

    rows, results = [], {}
    for board in args.boards:
        t = time.perf_counter()
        r = match(board, "digits", seed=args.seed, out=args.out / board, progress=False, **kwargs)
        wall = time.perf_counter() - t
        results[board] = r
        d = r.to_dict()
        ch = d["chosen"]
        rows.append((board, r.device.sram_bytes, ch, d, wall))
        print(f"[{board}] done in {wall:.0f} s", flush=True)

    print(f"\n### Matched model per board (digits, default settings, seed {args.seed})\n")
    print("| board | SRAM B | flash B (board) | chosen | test acc (C) | C mismatches | flash B | RAM B "
          "| latency ms (est.) | fits | candidates (pruned / trained) | search s | total s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for board, sram, ch, d, wall in rows:
        print(f"| {board} | {sram:,} | {results[board].device.flash_bytes:,} | {ch['label']} | {ch['accuracy']:.4f} "
              f"| {ch['c_mismatches']} | {ch['flash_bytes']:,} | {ch['ram_bytes']:,} | {ch['latency_ms']:.3f} "
              f"| {ch['fits']} | {d['n_candidates']} ({d['n_pruned']} / {d['n_trained']}) "
              f"| {d['search_seconds']:.0f} | {wall:.0f} |")
    print("\nflash/RAM method of each chosen model:")
    for board, _, ch, _, _ in rows:
        print(f"- {board}: {ch['flash_method'][:140]}")

    if "nano33ble" in results:
        print("\n### nano33ble: matched model vs the hand-written baseline (same run)\n")
        base = shrink_builtin("digits-cnn", "nano33ble", args.out / "baseline_digits_cnn", seed=args.seed,
                              progress=False)
        ch = results["nano33ble"].chosen
        print("| model | test acc (C) | flash B | RAM B | latency ms (est.) | fits |")
        print("|---|---|---|---|---|---|")
        print(f"| digits-cnn (baseline) | {base.accuracy['c']:.4f} | {base.flash_bytes:,} | {base.ram_bytes:,} "
              f"| {base.cost.latency_ms:.3f} | {base.fits} |")
        print(f"| match: {ch.candidate.arch.label} | {ch.accuracy:.4f} | {ch.flash_bytes:,} | {ch.ram_bytes:,} "
              f"| {ch.latency_ms:.3f} | {ch.fits} |")
        capped = match("nano33ble", "digits", max_flash=base.flash_bytes, seed=args.seed,
                       out=args.out / "nano33ble_baseline_flash", progress=False, **kwargs).chosen
        print(f"| match --max-flash {base.flash_bytes}: {capped.candidate.arch.label} | {capped.accuracy:.4f} "
              f"| {capped.flash_bytes:,} | {capped.ram_bytes:,} | {capped.latency_ms:.3f} | {capped.fits} |")
        for what, c in (("default budget", ch), (f"flash capped at the baseline's {base.flash_bytes:,} B", capped)):
            ok = c.accuracy >= base.accuracy["c"] and c.flash_bytes <= base.flash_bytes
            print(f"\n{what}: at least as accurate as digits-cnn at no more flash: {ok} "
                  f"(accuracy {c.accuracy - base.accuracy['c']:+.4f}, flash {c.flash_bytes - base.flash_bytes:+,} B)")

    print("\n### Is it 'more channels, fewer layers, smaller kernels'? (front share vs trained share)\n")
    axes = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in results.values():
        front = {c.number for c in r.front}
        for c in r.candidates:
            if c.status != "trained" or c.arch.family == "tree":
                continue
            for axis in ("family", "width", "depth", "kernel", "resolution", "weights"):
                value = ("has int4 layers" if c.arch.below_8_bits else "all int8") if axis == "weights" \
                    else getattr(c.arch, axis)
                axes[axis][value][0] += 1
                axes[axis][value][1] += c.number in front
    print("| axis | value | trained | on the front | share of front / share of trained |")
    print("|---|---|---|---|---|")
    for axis, values in axes.items():
        n_trained = sum(v[0] for v in values.values())
        n_front = sum(v[1] for v in values.values())
        for value, (n, f) in sorted(values.items(), key=lambda kv: str(kv[0])):
            ratio = (f / max(n_front, 1)) / (n / n_trained) if n else 0
            print(f"| {axis} | {value} | {n} | {f} | {ratio:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({b: r.to_dict() for b, r in results.items()}, indent=1))


if __name__ == "__main__":
    main()
