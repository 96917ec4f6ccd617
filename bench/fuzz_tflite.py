"""Fuzz ``pocketml compile`` with damaged .tflite files (issue 17): the counts in BENCHMARKS.md.

    .venv/bin/python bench/fuzz_tflite.py [--cases 3000] [--cli-cases 302] [--seed 0]

Two runs over the same seeded mutator (``pocketml/deploy/verify/fuzz.py``) of a small model
(conv, depthwise, max pool, reshape, FC, softmax):

1. ``--cases`` mutants through the reader in-process, the readable ones run in TFLite Micro and
   compared with the reference byte for byte (what ``make test`` does with 300);
2. the first ``--cli-cases`` of them through the real entry point, ``pocketml compile`` in a child
   process each: exit code, a traceback on stderr or not, an OUT folder left or not, and for the
   ones that compiled, C == reference == TFLite Micro (result.json ``c_mismatches``, ``verify.exact``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_fuzz_tflite import small_model  # noqa: E402

from pocketml.deploy.verify.fuzz import fuzz, mutate  # noqa: E402


def cli_run(mutant: bytes, folder: Path, k: int) -> dict:
    path, out = folder / f"m{k}.tflite", folder / f"out{k}"
    path.write_bytes(mutant)
    proc = subprocess.run([sys.executable, "-c", "from pocketml.cli import main; main()", "compile", str(path),
                           "--out", str(out), "--samples", "50", "--device", "rpi4"],
                          capture_output=True, text=True, timeout=600)
    row = {"exit": proc.returncode, "traceback": "Traceback" in proc.stderr, "out_left": out.exists()}
    if proc.returncode == 0:
        doc = json.loads((out / "result.json").read_text())
        row["exact"] = doc["c_mismatches"] == 0 and bool(doc["verify"]["exact"])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--cli-cases", type=int, default=302)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    base = small_model()
    t = time.perf_counter()
    outcome = fuzz(base, args.cases, seed=args.seed)
    print(f"## In-process: {args.cases} mutants of a {len(base):,}-byte model, seed {args.seed} "
          f"({time.perf_counter() - t:.1f} s)\n")
    print("| cases | clean errors | read, TFLite Micro == reference | read, TFLite Micro refuses | disagree "
          "| crashes |")
    print("|---|---|---|---|---|---|")
    d = outcome.to_dict()
    print(f"| {d['cases']} | {d['clean_errors']} | {d['read_and_exact']} | {d['read_but_tflm_refuses']} | "
          f"{d['disagree']} | {d['crashes']} |\n")

    rng = np.random.default_rng(args.seed)
    mutants = [mutate(base, rng)[0] for _ in range(args.cli_cases)]
    rows = []
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pocketml-fuzz-") as tmp:
        for k, m in enumerate(mutants):
            rows.append(cli_run(m, Path(tmp), k))
    clean = sum(r["exit"] == 1 and not r["traceback"] and not r["out_left"] for r in rows)
    compiled = [r for r in rows if r["exit"] == 0]
    other = [k for k, r in enumerate(rows) if not (r["exit"] == 1 and not r["traceback"] and not r["out_left"])
             and r["exit"] != 0]
    print(f"## Through `pocketml compile` (child process each): the first {args.cli_cases} mutants "
          f"({time.perf_counter() - t:.0f} s)\n")
    print("| cases | exit 1, clean message, no OUT | compiled | compiled and exact (C, reference, TFLite Micro) "
          "| anything else (crash, traceback, OUT left) |")
    print("|---|---|---|---|---|")
    print(f"| {len(rows)} | {clean} | {len(compiled)} | {sum(r.get('exact', False) for r in compiled)} | "
          f"{len(other) + sum(not r.get('exact', False) for r in compiled)} |")
    if other:
        print("\nnot clean:", other[:20])


if __name__ == "__main__":
    main()
