"""Benchmark of the wildfire PSPS application: the figures in BENCHMARKS.md ("Wildfire PSPS").

    .venv/bin/python bench/wildfire.py [--out out/wildfire] [--seed 0] [--test-seed 1]

1. ``pocketml wildfire simulate`` with the default settings (210 cells, 3 years, seeds 0 and 1):
   per-cell decisions vs the regional-threshold baseline and persistence on both held-out seasons,
   the shrunk cell model on the Nano 33 BLE Sense, and its wind MAE vs persistence;
2. ``pocketml wildfire evaluate`` on station files in the real ISD-Lite and TMY3 formats (written
   from one cell of a third synthetic region: real formats, synthetic weather; with a gap and a
   duplicate row put in the ISD-Lite file so the loader's handling shows).

Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POCKETML = [str(ROOT / ".venv/bin/pocketml")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/wildfire")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-seed", type=int, default=1)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    cmd = POCKETML + [
        "wildfire",
        "simulate",
        "--seed",
        str(args.seed),
        "--test-seed",
        str(args.test_seed),
        "--out",
        str(out / "region"),
        "--json",
    ]
    print("$", " ".join(cmd[1:] if False else ["pocketml", *cmd[1:]]), file=sys.stderr)
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    sim_s = time.perf_counter() - t

    print(
        f"### Region: seeds {args.seed} (A) and {args.test_seed} (B), held-out season "
        f"{' to '.join(res['settings']['spans']['test'])} ({sim_s:.0f} s)\n"
    )
    print(
        "| season | method | recall | unnecessary cell-h | shutoff cell-h | CSI | premature restorations | "
        "restorations | median notice h | onsets with notice |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for season, methods in res["seasons"].items():
        for m, s in methods.items():
            print(
                f"| {season} | {m} | {s['recall']:.3f} | {s['unnecessary_cell_hours']:,} | "
                f"{s['shutoff_cell_hours']:,} | "
                f"{s['csi']:.3f} | {s['premature_restorations']} | {s['restorations']} | "
                f"{s['notice_median_hours']:.0f} | {s['onsets_with_notice']:.2f} |"
            )
    print()
    for season, red in res["unnecessary_reduction_vs_regional"].items():
        print(f"- season {season}: {red:.1%} fewer unnecessary shutoff cell-hours than the regional baseline")
    for season, methods in res["seasons"].items():
        if "ours-any-hour" in methods:
            now, before = methods["ours"], methods["ours-any-hour"]
            print(
                f"- season {season}, cost of daylight-only restoration (ours vs ours-any-hour): "
                f"premature restorations {before['premature_restorations']} -> {now['premature_restorations']}, "
                f"unnecessary cell-h {before['unnecessary_cell_hours']:,} -> {now['unnecessary_cell_hours']:,} "
                f"({now['unnecessary_cell_hours'] / max(before['unnecessary_cell_hours'], 1) - 1:+.1%}), "
                f"recall {before['recall']:.3f} -> {now['recall']:.3f}"
            )
    print(f"- rules chosen on A's validation season: {json.dumps(res['rules'])}")
    print("\n### Regional model: federated over the cells vs central, same samples, same seed\n")
    print("| training | clients | regions | rounds | samples | final train loss | seconds | "
          "cell->region bytes | region->cell bytes | region->top bytes | top->region bytes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in res["regional_model"].values():
        print(
            f"| {t['trained_by']} | {t['clients'] or '-'} | {t['regions'] or '-'} | {t['rounds'] or '-'} | "
            f"{t['n_samples']:,} | {t['final_loss']:.4f} | {t['seconds']:.0f} | {t['bytes_cell_to_region']:,} | "
            f"{t['bytes_region_to_cell']:,} | {t['bytes_region_to_top']:,} | {t['bytes_top_to_region']:,} |"
        )
    print("\nSkill of the hazard probabilities over every cell and hour 1-48 h ahead of the held-out seasons "
          "(lower is better):\n")
    print("| season | model | log loss | Brier | Brier 6 h | Brier 24 h |")
    print("|---|---|---|---|---|---|")
    for season, models in res["regional_skill"].items():
        for name, k in models.items():
            print(f"| {season} | {name} | {k['log_loss']:.4f} | {k['brier']:.4f} | {k['brier_6h']:.4f} | "
                  f"{k['brier_24h']:.4f} |")
    c = res["cell_model"]
    print(f"\n### Cell model on {c['device']}\n")
    print(
        f"fits: {c['fits']} ({c['fit_reason']}); flash {c['flash_bytes']:,} B, RAM {c['ram_bytes']:,} B, "
        f"arena {c['arena_bytes']:,} B, C mismatches {c['c_mismatches']} of {c['n_test']}; "
        f"{c['macs_per_call']:,} MACs per call x {c['calls_per_forecast']} calls per 48-h forecast; "
        f"estimates: {c['energy_uj_per_forecast']:.1f} µJ and {c['latency_ms_per_forecast']:.2f} ms per forecast; "
        f"one-call MAE (standardised) float {c['step_mae_float']:.4f}, int8 {c['step_mae_int8']:.4f}\n"
    )
    print("| horizon h | wind MAE model (m/s) | wind MAE persistence (m/s) |")
    print("|---|---|---|")
    for h, v in res["cell_wind_mae"].items():
        print(f"| {h} | {v['model']:.3f} | {v['persistence']:.3f} |")
    print(f"\ndone-when checks: {res['done_when']}; stage seconds: {res['seconds']}\n")

    from pocketml.apps.wildfire.region import generate_region
    from pocketml.apps.wildfire.stations import write_isd_lite, write_tmy3

    r = generate_region(7, rows=3, cols=3, days=2 * 365)
    c_ = int(np.argmax(r.exposure))
    cols = (r.temperature[:, c_], r.relative_humidity[:, c_], r.wind_speed[:, c_], r.wind_direction[:, c_])
    isd = out / "station.isd"
    write_isd_lite(isd, r.times, *cols)
    lines = isd.read_text().splitlines()
    lines = lines[:5000] + lines[5010:] + [lines[100]]  # a 10-hour gap and a duplicated row at the end
    isd.write_text("\n".join(lines) + "\n")
    tmy = out / "station_tmy3.csv"
    write_tmy3(tmy, r.times[:8760], *(col[:8760] for col in cols))
    for path, fmt in ((isd, "isd-lite"), (tmy, "tmy3")):
        cmd = POCKETML + ["wildfire", "evaluate", "--station", str(path), "--format", fmt, "--json"]
        t = time.perf_counter()
        skill = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        print(
            f"### `pocketml wildfire evaluate --station {path.name} --format {fmt} --json` "
            f"({time.perf_counter() - t:.0f} s, {skill['n_hours']} h, trained on {skill['n_train_hours']})\n"
        )
        print("notes: " + "; ".join(skill["notes"]) + "\n")
        print("| variable | horizon h | model | persistence | climatology |")
        print("|---|---|---|---|---|")
        for v, table in skill["mae"].items():
            for h, row in table.items():
                print(f"| {v} | {h} | {row['model']:.3f} | {row['persistence']:.3f} | {row['climatology']:.3f} |")
        print()


if __name__ == "__main__":
    main()
