"""SVDF on a Cortex-M4: QEMU instructions per inference with the portable kernel against the DSP kernel.

    nice .venv/bin/python bench/svdf_kernels.py --mirrors DIR [--samples 50] [--only NAME]

The SVDF models of ``bench/third_party_models.toml`` (TFLite Micro's ``keyword_scrambled``, int16
memory, and ``keyword_scrambled_8bit``, int8 memory; read out of ``--mirrors`` as
``bench/third_party.py`` does), each compiled three ways in one run: portable C, the DSP kernels
built for speed and for size (``docs/dsp.md``). Each build runs ``--samples`` probe inputs in
QEMU (mps2-an386, Cortex-M4) **in order**, the SVDF memories carried from one invoke to the next,
and must equal the numpy reference on every one (``mismatches``); the instructions are QEMU's
``-icount`` count per inference (deterministic), for the whole model (mean over the samples) and
for its SVDF layers (the per-layer profile, on the first input).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from third_party import extract, load_manifest  # noqa: E402

SVDF_MODELS = ("keyword_scrambled",)  # names containing it (both files)


def measure(path: Path, samples: int, tmp: Path) -> list[tuple[str, int, int, int, int]]:
    """(build, instructions per inference, of which SVDF layers, mismatching samples, .text bytes) per build."""
    from pocketml.deploy.c import emit_c
    from pocketml.deploy.c.dsp import PORTABLE, KernelTarget
    from pocketml.deploy.cortexm.measure import measure_for_device
    from pocketml.deploy.tflite.reader import read_tflite
    from pocketml.graph.planner import plan_memory
    from pocketml.pipeline.from_tflite import probe_inputs

    imp = read_tflite(path)
    graph = imp.graph
    x_q = probe_inputs(imp, samples, seed=0)
    ref = graph.run_flat(x_q)
    rows = []
    for label, kernels in (("portable", PORTABLE), ("dsp, speed", KernelTarget(True, "speed")),
                           ("dsp, size", KernelTarget(True, "size"))):
        folder = tmp / path.stem / label.replace(", ", "-")
        folder.mkdir(parents=True)
        source = emit_c(graph, plan_memory(graph), "model", kernels=kernels)
        for fname, text in source.files.items():
            (folder / fname).write_text(text)
        if kernels.dsp and "svdf_dsp.h" not in source.files:
            sys.exit(f"{path.name}: the DSP build does not use the SVDF DSP kernel")
        layers = [(op.name, op.kind, op.macs(graph.tensors)) for op in graph.ops]
        report = measure_for_device(folder, "cortex-m4f", x_q, ref, budget=10**12, layers=layers)
        svdf = sum(layer["instructions"] for layer in report.layers if layer["kind"] == "svdf")
        rows.append((label, report.instructions_per_inference, svdf, report.qemu_mismatches,
                     report.sections[".text"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True, help="folder of git repositories (as third_party.py)")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--only", action="append", default=[], help="run only models whose name contains this")
    args = parser.parse_args()
    entries = [e for e in load_manifest() if any(s in e.name for s in SVDF_MODELS)
               and (not args.only or any(s in e.name for s in args.only))]
    print("| model | build | QEMU instructions / inference | SVDF layers | SVDF vs portable | mismatches | .text B |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-svdf-") as tmp:
        for entry, path in zip(entries, extract(entries, args.mirrors, Path(tmp)), strict=True):
            rows = measure(path, args.samples, Path(tmp))
            base = rows[0][2]
            for label, total, svdf, mismatches, text in rows:
                print(f"| {entry.name} | {label} | {total:,} | {svdf:,} | {base / svdf:.2f}x | "
                      f"{mismatches} of {args.samples} | {text:,} |", flush=True)


if __name__ == "__main__":
    main()
