"""TFLite's 16x8 scheme (int16 activations, int8 weights, int64/int32 biases) through ``pocketml compile``,
next to the same layers in int8, over several seeds.

    .venv/bin/python bench/int16.py [--seeds 0 1 2 3 4] [--samples 1000] [--models layers elementwise]

For each seed, tests/tflite_models.py ``model_16x8`` writes (pocketml's own .tflite writer; no
TensorFlow converter here) int8 input -> QUANTIZE to int16 -> CONV_2D 3x3 (int64 bias, RELU) ->
MAX_POOL_2D -> DEPTHWISE_CONV_2D -> CONV_2D 1x1 (int32 bias) -> AVERAGE_POOL_2D -> RESHAPE ->
FULLY_CONNECTED (int64 bias) -> QUANTIZE to int8, random weights of that seed, and its int8 twin
(the same layers and weights, no QUANTIZE). Each is compiled for nano33ble (``compile``, uniform
random int8 inputs, seed 0) and the script prints, from ``result.json``: mismatching samples of the
C and of TFLite Micro running the source file against the numpy reference, of the Cortex-M4 build in
QEMU, the distinct outputs seen; the share of int16 activations at an int16 limit (-32768, 32767)
over those inputs (the saturation the check crossed); QEMU instructions per inference (``-icount``,
deterministic), flash and RAM of the Cortex-M4 build and the planned arena. On the M4 the 16x8
CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED run their DSP kernels' 16x8 paths (docs/dsp.md "16x8"),
the int8 twin the int8 DSP kernels.

The second model (``--models elementwise``, ``model_16x8_elementwise``) runs the element-wise ops on
int16: QUANTIZE -> CONV_2D -> TANH -> PAD -> DEPTHWISE_CONV_2D -> RELU, RELU6 of the conv, SUB of the
two, MUL by the LOGISTIC of the conv (a gate) -> AVERAGE_POOL_2D -> MEAN -> FULLY_CONNECTED -> SOFTMAX
(beta 0.1) -> QUANTIZE, and its int8 twin.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from tflite_models import model_16x8, model_16x8_elementwise  # noqa: E402

from pocketml.deploy.tflite import write_tflite  # noqa: E402
from pocketml.deploy.tflite.reader import read_tflite  # noqa: E402
from pocketml.deploy.verify.probe import make_inputs  # noqa: E402
from pocketml.pipeline.from_tflite import compile_tflite  # noqa: E402


def saturated_share(path: Path, samples: int) -> float | None:
    """The share of int16 activation elements at -32768 or 32767 on ``samples`` uniform inputs (seed 0)."""
    graph = read_tflite(path).graph
    x = make_inputs(graph.input_infos, samples, 0, "uniform")
    layers = graph.run_layers(x)
    wide = [v for name, v in layers.items() if graph.tensors[name].dtype == "int16"]
    if not wide:
        return None
    at_limit = sum(int(np.count_nonzero((v == -32768) | (v == 32767))) for v in wide)
    return at_limit / sum(v.size for v in wide)


MODELS = {"layers": model_16x8, "elementwise": model_16x8_elementwise}


def row(model: str, seed: int, int16: bool, samples: int, tmp: Path) -> str:
    name = f"{model}-seed{seed}-{'16x8' if int16 else 'int8'}"
    path = tmp / f"{name}.tflite"
    path.write_bytes(write_tflite(MODELS[model](seed, int16=int16)))
    compile_tflite(path, "nano33ble", tmp / name, samples=samples, seed=0, report=False, inputs="uniform")
    doc = json.loads((tmp / name / "result.json").read_text())
    src, cm = doc["verify"]["source_tflm"], doc.get("cortexm") or {}
    qemu = f"{cm['qemu_mismatches']}/{cm['qemu_samples']}" if cm.get("qemu_samples") else "not run"
    share = saturated_share(path, samples)
    return (f"| {model} | {seed} | {'16x8' if int16 else 'int8'} | {samples} | {doc['c_mismatches']} "
            f"| {src['mismatching_samples']} | {qemu} | {src['distinct_outputs']} "
            f"| {'—' if share is None else f'{100 * share:.2f}%'} "
            f"| {cm.get('instructions_per_inference', 0):,} | {cm.get('flash_bytes', 0):,} "
            f"| {cm.get('ram_bytes', 0):,} | {doc['arena_bytes']:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--samples", type=int, default=1000, help="uniform random int8 inputs compared")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["layers", "elementwise"],
                        help="layers: model_16x8; elementwise: model_16x8_elementwise (PAD, RELU, RELU6, SUB, "
                             "TANH, LOGISTIC, MUL, MEAN, SOFTMAX)")
    args = parser.parse_args()
    print(f"### 16x8 vs int8, the same layers and weights (bench/int16.py, nano33ble, {args.samples} uniform "
          "random int8 inputs, seed 0)\n")
    print("| model | seed | activations | samples | C vs ref mismatches | TFLM (source) vs ref mismatches "
          "| QEMU M4 mismatches | distinct outputs | int16 values at a limit | M4 instructions/inference "
          "| M4 flash B | M4 RAM B | planned arena B |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-int16-") as tmp:
        for model in args.models:
            for seed in args.seeds:
                for int16 in (True, False):
                    print(row(model, seed, int16, args.samples, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
