"""The ``.npz`` mutation fuzz counts for BENCHMARKS.md (issue #17): rerun with

    .venv/bin/python bench/fuzz_npz.py [--cases 1000] [--seed 0]

Same mutator and rules as ``tests/test_fuzz_npz.py`` (``tests/npz_fuzz.py``), on the same small model
and data, but more cases and *every* accepted file whose arrays changed is run end to end through
``pocketml shrink`` (the test runs one). Prints a markdown table: cases, clean errors, accepted
unchanged, accepted and run, crashes (must be 0), and the cases per kind of damage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from npz_fuzz import call_main, fuzz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pocketml-npz-fuzz-") as tmp:
        tmp = Path(tmp)
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)).eval()
        model = tmp / "net.pt2"
        torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 6, 6),)), model)
        r = np.random.default_rng(0)
        x = r.normal(size=(24, 1, 6, 6)).astype(np.float32)
        np.savez(tmp / "data.npz", x_train=x, x_test=x[:12], y_test=r.integers(0, 3, 12))
        shrink = ("shrink", "--model", model, "--device", "pico")

        def cli(data, out):
            code, _, err = call_main(*shrink, "--data", data, "--out", out)
            return code, err

        def run(data):
            out = tmp / f"run-{data.stem}"
            code, _, err = call_main(*shrink, "--data", data, "--out", out)
            return code if code == 0 or (code == 1 and "Traceback" not in err and not out.exists()) else 99

        code, _, _ = call_main(*shrink, "--data", tmp / "data.npz", "--out", tmp / "original")
        assert code == 0, "the original file must shrink"
        counts = fuzz(tmp / "data.npz", args.cases, args.seed, tmp, cli=cli, run=run)
    print(f"\n### `.npz` mutation fuzz: {counts.cases} cases, seed {args.seed}\n")
    print("| cases | clean errors (exit 1, one paragraph, no OUT) | accepted, arrays unchanged | "
          "accepted, arrays changed, run end to end | crashes |")
    print("|---|---|---|---|---|")
    print(f"| {counts.cases} | {counts.clean_errors} | {counts.unchanged} | {counts.ran} | {len(counts.crashes)} |")
    print("\nby kind of damage: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.kinds.items())))
    print("accepted, by kind: " + ", ".join(f"{k}: {v} {outcome}" for (k, outcome), v in
                                             sorted(counts.outcomes.items()) if outcome != "clean error"))
    for crash in counts.crashes:
        print("CRASH", crash)


if __name__ == "__main__":
    main()
