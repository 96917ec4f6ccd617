"""``check_op``: the conformance suite every op configuration passes (the ``check_estimator`` of ops).

    reference (numpy, ``op.py``) == C under AddressSanitizer and UndefinedBehaviorSanitizer
                                 == the DSP kernels' C built for speed, under the same sanitizers
                                    (where the op has one; ``tests/acle/arm_acle.h`` emulates the
                                    intrinsics on the host: a test-only header, present in a checkout)
                                 == TFLite Micro running the written ``.tflite``
    and close to float PyTorch (a few output steps) when a PyTorch module is given

Each op folder's ``test_<kind>.py`` runs its configurations through it, with goldens worked by
hand and the configurations ``prepare`` must refuse (:func:`tensors` and :func:`run_op` help
write those).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.tflite import write_tflite
from pocketml.deploy.tflite.runtimes import run_tflite
from pocketml.graph.ir import PER_INFERENCE, QuantGraph, QuantParams, TensorInfo
from pocketml.graph.planner import plan_memory

SANITIZE = "-std=c99 -Wall -Wextra -Werror -pedantic -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
ACLE = Path(__file__).resolve().parents[3] / "tests" / "acle"  # the tests' <arm_acle.h> emulation (a checkout)


def check_dsp(graph: QuantGraph, xq: np.ndarray, ref: np.ndarray, tmp: Path, optimize: str = "speed") -> list[str]:
    """The DSP build for speed (or ``optimize="size"``) under ASan/UBSan on the host must equal the
    reference; returns the DSP kernels it used (none: no op of the graph has one that fits, or no
    emulation header here)."""
    from pocketml.deploy.c.dsp import KernelTarget

    if not (ACLE / "arm_acle.h").is_file():
        return []
    src = emit_c(graph, plan_memory(graph), kernels=KernelTarget(True, optimize))
    used = sorted(name for name in src.files if name.endswith("_dsp.h") and name != "pocketml_dsp.h")
    if not used:
        return []
    folder = tmp / f"dsp-{optimize}"
    folder.mkdir(exist_ok=True)
    for name, text in src.files.items():
        (folder / name).write_text(text)
    got = run_host(build_host(folder, cflags=f"{SANITIZE} -I{ACLE}"), xq, graph.output_bytes)
    assert np.array_equal(got, ref), "the DSP kernels' C differs from the int8 reference"
    return used


def check_op(module, input_shape: tuple[int, ...], tmp: Path, seed: int = 0, n: int = 64,
             tflm: bool = True) -> dict:
    """Quantize ``module`` (a PyTorch module, or an already quantized :class:`QuantGraph`), then require
    C == reference (and TFLite Micro == reference) on ``n`` random inputs; return the float errors.

    ``input_shape`` is per sample in the module's layout (ignored for a QuantGraph, which brings
    its own). The returned dict holds ``max_err_lsb`` / ``mean_err_lsb`` (int8 against float, in
    output steps; None for a QuantGraph) and the ``graph``.
    """
    import torch

    from pocketml.compress.quantize import quantize
    from pocketml.graph.capture import capture

    r = np.random.default_rng(seed)
    if isinstance(module, QuantGraph):
        graph = module
        xs = tuple(r.integers(0, 256, (n, *info.shape), dtype=np.uint8) if info.dtype == "uint8"
                   else r.integers(-32768, 32768, (n, *info.shape), dtype=np.int16) if info.dtype == "int16"
                   else r.integers(-128, 128, (n, *info.shape), dtype=np.int8) for info in graph.input_infos)
        xq = xs[0] if len(xs) == 1 else np.concatenate([x.reshape(n, -1).view(np.int8) for x in xs], axis=1)
    else:
        torch.manual_seed(seed)
        for m in module.modules():  # make BatchNorm statistics non-trivial
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        module.eval()
        x = r.normal(size=(n, *input_shape)).astype(np.float32)
        graph = quantize(capture(module, torch.as_tensor(x[:1]), "op_under_test"), x)
        xq = graph.quantize_input(x)
    ref = graph.run_flat(xq)

    src = emit_c(graph, plan_memory(graph))
    for name, text in src.files.items():
        (tmp / name).write_text(text)
    c_out = run_host(build_host(tmp, cflags=SANITIZE), xq, graph.output_bytes)
    assert np.array_equal(c_out, ref), "C differs from the int8 reference"
    dsp = check_dsp(graph, xq, ref, tmp)
    if tflm:
        path = tmp / "op.tflite"
        path.write_bytes(write_tflite(graph))
        run = run_tflite(path, graph.split_inputs(xq) if len(graph.inputs) > 1 else xq, "tflm",
                         n_outputs=len(graph.outputs), reset_state=graph.state_semantics() == PER_INFERENCE)
        got = np.concatenate([np.asarray(o).reshape(n, -1).view(np.int8) for o in run.outputs], axis=1)
        assert np.array_equal(got, ref), "TFLite Micro differs from the int8 reference"
    if isinstance(module, QuantGraph):
        return {"max_err_lsb": None, "mean_err_lsb": None, "graph": graph, "dsp": dsp}

    with torch.no_grad():
        want = module(torch.as_tensor(x)).numpy()
    if want.ndim == 4:
        want = want.transpose(0, 2, 3, 1)
    elif want.ndim == 3:  # [N, C, W] signal -> the graph's [N, 1, W, C]
        want = want.transpose(0, 2, 1)
    out = graph.output_info
    got = out.quant.dequantize(ref.reshape(n, *out.shape))
    err = np.abs(got - want.reshape(got.shape))
    return {"max_err_lsb": float(err.max() / out.quant.scale), "mean_err_lsb": float(err.mean() / out.quant.scale),
            "graph": graph, "dsp": dsp}


def tensors(**shapes_quants: tuple[tuple[int, ...], QuantParams]) -> dict[str, TensorInfo]:
    """``tensors(x=((4,), QuantParams(0.1, 0)), y=...)``: TensorInfos by name, for goldens."""
    return {name: TensorInfo(name, shape, quant) for name, (shape, quant) in shapes_quants.items()}


def run_op(op, infos: dict[str, TensorInfo], *xs) -> np.ndarray:
    """Prepare ``op`` on ``infos`` and evaluate it on one sample of each input (int8 lists or arrays)."""
    return op.evaluate(op.prepare(infos), *(np.asarray(x, np.int8)[None] for x in xs))[0]


def one_op_graph(op, infos: dict[str, TensorInfo], inputs: tuple[str, ...] | None = None) -> QuantGraph:
    """A graph of ``op`` alone, reading ``inputs`` (default: its own) and writing its output; for
    check_op on an op PyTorch never produces, or on every int8 value (an input of shape (256,))."""
    graph = QuantGraph("op_under_test", dict(infos), [op], (inputs or op.inputs)[0], op.output)
    _ = graph.op_data
    return graph


def check_int16_binary(op, shapes: tuple[tuple[int, ...], tuple[int, ...]],
                       quants: tuple[QuantParams, QuantParams, QuantParams], tmp: Path, n: int = 64):
    """A two-operand int16 op (ADD, SUB, MUL of TFLite's 16x8 models) reading "a" and "b" of
    ``shapes`` and writing "y" of a's shape, through ``check_op`` (reference == C == TFLite Micro);
    then its outputs on ``n`` full-range random operands and its prepared data, for the caller's
    saturation checks: ``(check_op's result, y, op data)``."""
    (shape_a, shape_b), (qa, qb, qy) = shapes, quants
    infos = {"a": TensorInfo("a", shape_a, qa, "int16"), "b": TensorInfo("b", shape_b, qb, "int16"),
             "y": TensorInfo("y", shape_a, qy, "int16")}
    graph = QuantGraph(f"{op.name}16", infos, [op], ("a", "b"), "y")
    result = check_op(graph, (), tmp)
    r = np.random.default_rng(1)
    y = graph.run((r.integers(-32768, 32768, (n, *shape_a), np.int16), r.integers(-32768, 32768, (n, *shape_b),
                                                                                     np.int16)))
    return result, y, graph.op_data[0]
