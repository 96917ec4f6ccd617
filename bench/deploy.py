"""Verified deployment, per model family: reference vs C vs TFLite Micro (vs LiteRT), arena, latency.

    .venv/bin/python bench/deploy.py [--families digits-cnn,ds-cnn,resnet8,fc-autoencoder]

For each built-in family: ``shrink_builtin`` (train with seed 0, quantize, emit C, write
model.tflite; for a Cortex-M board it also runs the C in QEMU when the toolchain is installed:
result.json's ``cortexm``), then ``pocketml.deploy.verify.verify(OUT, layers=True)``, which reruns
every test input in every runtime. Prints markdown: mismatching samples per runtime, LiteRT's agreement with
both resolvers and the first layer where it diverges from TFLite Micro, our planned arena next to
TFLite Micro's smallest working arena (bisected in child processes), and host latency of our C
next to TFLite Micro's interpreter, measured side by side: both in one child process, interleaved
round by round on the same inputs (``pocketml.deploy.verify.latency.time_side_by_side``); the
ratio is the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pocketml import shrink_builtin
from pocketml.deploy.verify import verify
from pocketml.models.registry import BUILTIN

FAMILIES = ("digits-cnn", "ds-cnn", "resnet8", "fc-autoencoder")


def _agree(check) -> str:
    return f"{check.mismatching_samples}/{check.samples} (max {check.max_abs_diff})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--device", default="nano33ble")
    parser.add_argument("--passes", type=int, default=7, help="interleaved timed rounds (median reported)")
    args = parser.parse_args()
    runtimes = "reference,c,tflm,litert"
    layer_rows, missing, method = [], [], ""
    print(f"### Reference vs C vs TFLite Micro vs LiteRT, per family (device {args.device}, seed 0)\n")
    print("| family | samples | C mismatches | TFLM mismatches | QEMU mismatches "
          "| LiteRT BUILTIN_REF differing (max) | LiteRT XNNPACK differing (max) "
          "| planned arena B | TFLM smallest arena B | arena ratio "
          "| C µs/inf | TFLM µs/inf | latency ratio | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-deploy-") as tmp:
        for family in args.families.split(","):
            if family not in BUILTIN:
                missing.append(family)
                continue
            t0 = time.perf_counter()
            out = Path(tmp) / family
            shrink_builtin(family, args.device, out, seed=0, progress=False)
            r = verify(out, runtimes, layers=True, passes=args.passes)
            seconds = time.perf_counter() - t0
            method = r.latency_method
            c, tflm = r.check("c"), r.check("tflm")
            qemu = json.loads((out / "result.json").read_text()).get("cortexm") or {}
            qemu_cell = (f"{qemu['qemu_mismatches']}/{qemu['qemu_samples']}" if qemu.get("qemu_samples")
                         else "not run")
            print(
                f"| {family} | {r.samples} | {c.mismatching_samples} | {tflm.mismatching_samples} | {qemu_cell} "
                f"| {_agree(r.check('litert-reference'))} | {_agree(r.check('litert-xnnpack'))} "
                f"| {r.planned_arena_bytes:,} | {r.tflm_arena_bytes:,} "
                f"| {r.planned_arena_bytes / r.tflm_arena_bytes:.2f} "
                f"| {c.latency_us:,.1f} | {tflm.latency_us:,.1f} | {r.to_dict()['latency']['c_over_tflm']:.2f} "
                f"| {seconds:.0f} |", flush=True)
            for pair in r.layers:
                if pair.a == "tflm" or (pair.a == "reference" and pair.b == "tflm"):
                    f = pair.first
                    where = (f"{f.layer} ({f.kind}): {f.elements_differing:,} of {f.elements:,} elements, "
                             f"{f.samples_differing} samples, max {f.max_abs_diff}") if f else \
                        "none (identical at every layer)"
                    layer_rows.append(f"| {family} | {pair.a} vs {pair.b} | {where} |")
    if method:
        print(f"\nLatency: {method}.")
    print("\n### First layer where LiteRT diverges from TFLite Micro (model cut after every layer)\n")
    print("| family | runtimes | first diverging layer |\n|---|---|---|")
    print("\n".join(layer_rows))
    if missing:
        print(f"\nNot built in (yet): {', '.join(missing)}")


if __name__ == "__main__":
    main()
