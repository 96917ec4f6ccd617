"""Deploy a text student to phone/SBC class: ONNX float, int8 by onnxruntime, checked, and timed beside the teacher.

* :func:`export_int8`: ``pocketml.deploy.onnx.export_onnx`` (checked against PyTorch) then
  ``onnxruntime.quantization.quantize_dynamic`` (int8 weights of MatMul/Gemm, activations quantized
  per call); both files written atomically.
* :func:`check_int8`: int8 predictions against the float student's (agreement) and the labels.
* :func:`measure_latency`: batch-1 latency of several models measured in one run, interleaved
  round by round (so load on the shared CPU hits all alike), one thread each; median and p90 in ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pocketml.deploy.onnx import OnnxExport, export_onnx
from pocketml.errors import PocketMLError
from pocketml.outputs import atomic_path


@dataclass(frozen=True)
class Int8Check:
    agreement: float  # share of samples where int8 and float predict the same class
    float_accuracy: float
    int8_accuracy: float
    float_bytes: int
    int8_bytes: int


@dataclass(frozen=True)
class Latency:
    median_ms: float
    p90_ms: float
    runs: int


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def export_int8(model: torch.nn.Module, example: np.ndarray, folder: Path, name: str) -> tuple[OnnxExport, Path]:
    """``folder/name.onnx`` (float, checked) and ``folder/name.int8.onnx``; returns the export record and int8 path."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    exported = export_onnx(model, example, folder / f"{name}.onnx", atol=1e-4)
    target = folder / f"{name}.int8.onnx"
    with atomic_path(target) as tmp:
        quantize_dynamic(str(exported.path), str(tmp), weight_type=QuantType.QInt8)
    return exported, target


def onnx_predict(path: Path, x: np.ndarray) -> np.ndarray:
    s = _session(path)
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[i:i + 64]})[0].argmax(1) for i in range(0, len(x), 64)])


def check_int8(float_path: Path, int8_path: Path, x: np.ndarray, y: np.ndarray) -> Int8Check:
    if len(x) == 0:
        raise PocketMLError("no samples to check the int8 model on", "pass the test token ids")
    pf, pq = onnx_predict(float_path, x), onnx_predict(int8_path, x)
    return Int8Check(float(np.mean(pf == pq)), float(np.mean(pf == y)), float(np.mean(pq == y)),
                     float_path.stat().st_size, int8_path.stat().st_size)


def torch_runner(model: torch.nn.Module) -> Callable[[np.ndarray], object]:
    model.eval()

    def run(x: np.ndarray):
        with torch.no_grad():
            return model(torch.as_tensor(x))

    return run


def onnx_runner(path: Path) -> Callable[[np.ndarray], object]:
    s = _session(path)
    name = s.get_inputs()[0].name
    return lambda x: s.run(None, {name: x})


def measure_latency(runners: dict[str, Callable[[np.ndarray], object]], inputs: np.ndarray, rounds: int = 30,
                    warmup: int = 3) -> dict[str, Latency]:
    """Batch-1 latency of each runner on the rows of ``inputs`` ([N, L]), interleaved; PyTorch on 1 thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        times: dict[str, list[float]] = {k: [] for k in runners}
        for r in range(warmup + rounds):
            x = inputs[r % len(inputs)][None]
            for name, run in runners.items():
                t0 = time.perf_counter()
                run(x)
                if r >= warmup:
                    times[name].append((time.perf_counter() - t0) * 1e3)
    finally:
        torch.set_num_threads(threads)
    return {k: Latency(float(np.median(v)), float(np.percentile(v, 90)), len(v)) for k, v in times.items()}
