"""``pocketml compile`` over a folder of .tflite files: compiled or why not, agreement, arena, latency, size.

    .venv/bin/python bench/compile.py FOLDER [--device nano33ble] [--samples 1000] [--rounds 5]
    .venv/bin/python bench/compile.py --examples FOLDER     # first writes pocketml-built examples there
    .venv/bin/python bench/compile.py                       # the examples, in a temporary folder

``--examples`` writes, with pocketml's own writer (the builders of tests/tflite_models.py), the
test models (SAME with the odd pixel bottom/right, dilation, depth multiplier, per-tensor
weights, softmax beta 0.5, float edges + SQUEEZE; residual ADD, CONCATENATION, PAD, MEAN), a model
with two outputs (a classifier head and a conv feature map off a shared trunk,
tests/test_compile_outputs.py), one that must be refused (an ELU after the output), and a
conv/pool/depthwise/FC model in TFLite's 16x8 scheme (int16 activations, int64/int32 biases) next
to its int8 twin (``pooled-16x8``, ``pooled-int8``), then benchmarks the folder. With several
outputs every output is compared (mismatches count samples where any output differs).

Per model (every ``*.tflite`` in FOLDER, sorted by name):

* compiled, or the reason it was refused (the operator index, op name and options of
  ``pocketml compile --check``);
* samples compared: ``--samples`` uniform random int8 inputs (seed 0) through the numpy reference,
  the emitted C (host build) and TFLite Micro running the *source* file; mismatches = samples
  whose output differs in any byte (C vs reference, TFLM vs reference), plus QEMU (Cortex-M4
  build of the same C) on the inputs that fit its instruction budget;
* arena: our planned arena (static memory plan) vs TFLite Micro's smallest working arena for the
  source file, bisected to the byte in child processes (``smallest_tflm_arena``);
* host latency: our C vs TFLite Micro's interpreter on the source file, interleaved round by round
  in one child process on the first ``--time-samples`` inputs (``time_side_by_side``; both with
  their own optimised builds, the C at -O2), medians of ``--rounds`` rounds;
* flash and RAM on Cortex-M4: the arm-none-eabi build for the board's core (flash = .text +
  .rodata + .data; RAM = .data + .bss + measured stack), from ``result.json``'s ``cortexm``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.tflite.runtimes import smallest_tflm_arena
from pocketml.deploy.verify.latency import time_side_by_side
from pocketml.errors import PocketMLError
from pocketml.pipeline.from_tflite import check_tflite_model, compile_tflite, random_inputs, source_inputs


def _refusal(path: Path) -> str:
    check = check_tflite_model(path)
    bad = [c for c in check.operators if not c.ok]
    return "; ".join(c.describe() for c in bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")


def bench_one(path: Path, device: str, samples: int, rounds: int, time_samples: int, tmp: Path) -> str:
    t0 = time.perf_counter()
    try:
        compile_tflite(path, device, tmp / path.stem, samples=samples, seed=0, report=False, inputs="uniform")
    except PocketMLError as exc:
        why = _refusal(path) if "cannot be compiled" in exc.problem else exc.problem
        return f"| {path.name} | **no**: {why} |" + " |" * 12
    doc = json.loads((tmp / path.stem / "result.json").read_text())
    imp = read_tflite(path)
    x_q = random_inputs(imp, samples, seed=0)
    src = doc["verify"]["source_tflm"]
    cm = doc.get("cortexm") or {}
    qemu = f"{cm['qemu_mismatches']}/{cm['qemu_samples']}" if cm.get("qemu_samples") else "not run"
    probe = smallest_tflm_arena(path, source_inputs(imp, x_q[:1]))
    arena = doc["arena_bytes"]
    if imp.input.dtype == "int8" and all(e.dtype == "int8" for e in imp.outputs):
        lat = time_side_by_side(tmp / path.stem / "c", path, x_q[:time_samples], rounds=rounds,
                                n_outputs=len(imp.outputs))
        latency = f"{lat.c_median * 1e6:,.1f} | {lat.tflm_median * 1e6:,.1f} | {lat.ratio:.2f}"
    else:
        latency = "n/a (float edge) | | "
    flash = f"{cm['flash_bytes']:,}" if cm else f"{doc['flash_bytes']:,} (host)"
    ram = f"{cm['ram_bytes']:,}" if cm else f"{doc['ram_bytes']:,} (host)"
    outputs = f", {len(imp.outputs)} outputs" if len(imp.outputs) > 1 else ""
    return (f"| {path.name} | yes ({len(doc['layers'])} ops{outputs}) | {samples} | {doc['c_mismatches']} "
            f"| {src['mismatching_samples']} | {qemu} | {arena:,} | {probe.smallest_bytes:,} "
            f"| {arena / probe.smallest_bytes:.2f} | {latency} | {flash} | {ram} | {time.perf_counter() - t0:.0f} |")


def write_examples(folder: Path) -> None:
    """The compile tests' models (tests/tflite_models.py, tests/test_compile.py) as files in ``folder``."""
    from tflite.BuiltinOperator import BuiltinOperator

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_compile import VARIANTS, _write, branches_model
    from test_compile_outputs import VARIANTS as OUTPUT_VARIANTS
    from test_compile_outputs import _write as write_outputs
    from tflite_models import append_operator, model_16x8, spec_of

    from pocketml.deploy.tflite import write_tflite

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("windows-int8", "windows-float-edges-squeeze", "branches-int8"):
        assert name in VARIANTS
        _write(name, folder)
    assert "two-heads-int8" in OUTPUT_VARIANTS
    write_outputs("two-heads-int8", folder)
    spec = spec_of(branches_model())
    append_operator(spec, BuiltinOperator.ELU)
    (folder / "branches-elu.tflite").write_bytes(spec.serialise())
    for int16 in (True, False):  # TFLite's 16x8 (int16 activations) and the same layers in int8
        (folder / f"pooled-{'16x8' if int16 else 'int8'}.tflite").write_bytes(write_tflite(model_16x8(int16=int16)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=None,
                        help="folder of .tflite files (default: a temporary folder of --examples)")
    parser.add_argument("--device", default="nano33ble")
    parser.add_argument("--samples", type=int, default=1000, help="random int8 inputs compared (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (median reported)")
    parser.add_argument("--time-samples", type=int, default=50, help="inputs per timing round")
    parser.add_argument("--examples", action="store_true", help="first write pocketml-built example models to FOLDER")
    args = parser.parse_args()
    if args.folder is None:  # `make bench`: the pocketml-built examples, nothing to download
        args.folder, args.examples = Path(tempfile.mkdtemp(prefix="pocketml-compile-examples-")), True
    if args.examples:
        write_examples(args.folder)
    models = sorted(args.folder.glob("*.tflite"))
    if not models:
        sys.exit(f"no .tflite files in {args.folder}")
    print(f"### pocketml compile: {len(models)} .tflite file(s) from {args.folder.name}/ "
          f"(device {args.device}, {args.samples} random int8 inputs, seed 0)\n")
    print("| model | compiled | samples | C vs ref mismatches | TFLM (source) vs ref mismatches | QEMU M4 mismatches "
          "| planned arena B | TFLM smallest arena B | arena ratio | C µs/inf | TFLM µs/inf | latency ratio "
          "| M4 flash B | M4 RAM B | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-compile-") as tmp:
        for path in models:
            print(bench_one(path, args.device, args.samples, args.rounds, args.time_samples, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
