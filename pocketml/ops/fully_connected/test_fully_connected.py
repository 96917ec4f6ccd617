"""FULLY_CONNECTED: check_op configurations and the accumulator bound ``prepare`` enforces; TFLite's
16x8 scheme (int16 activations, int64 or int32 bias) against TFLite Micro with saturation."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.fully_connected import FullyConnected

CONFIGS = {
    "20to7": (lambda: nn.Linear(20, 7), (20,)),
    "relu": (lambda: nn.Sequential(nn.Linear(33, 9), nn.ReLU()), (33,)),
    "70to40-relu": (lambda: nn.Sequential(nn.Linear(70, 40), nn.ReLU()), (70,)),  # whole dot blocks + leftovers
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_prepare_rejects_accumulators_that_could_overflow():
    depth = 70_000  # 70000 * 255 * 127 > 2^31
    op = FullyConnected("fc", ("x",), "y", np.zeros((1, depth), np.int8), np.zeros(1, np.int32),
                        np.ones(1, np.float32), "none")
    q = QuantParams(0.1, 0)
    with pytest.raises(OverflowError):
        op.prepare(tensors(x=((depth,), q), y=((1,), q)))


# ---- 16x8: int16 activations (zero point 0), int8 weights, int64 or int32 bias ----------------------------------

@pytest.mark.parametrize("depth,cout,bias,act", [
    (20, 7, np.int64, "none"),
    (70, 40, np.int32, "relu"),  # TFLite Micro sums in int32 for an int32 bias
    (300, 5, np.int64, "relu6"),
])
def test_16x8_matches_tflite_micro_and_saturates(depth, cout, bias, act, tmp_path):
    r = np.random.default_rng(depth)
    s_w = r.uniform(0.002, 0.008, cout).astype(np.float32)
    op = FullyConnected("fc", ("x",), "y", r.integers(-127, 128, (cout, depth)).astype(np.int8),
                        r.integers(-2**20, 2**20, cout).astype(bias), s_w, act)
    s_in = 1e-3 if act != "relu6" else 6.7e-5  # relu6: real outputs spread ~8, 6.0 at output step 5000
    s_out = float(s_in * np.median(s_w) * np.sqrt(depth) * 18918 * 73.6 / 20000) if act != "relu6" else 6 / 5000
    infos = {"x": TensorInfo("x", (depth,), QuantParams(s_in, 0), "int16"),
             "y": TensorInfo("y", (cout,), QuantParams(s_out, 0), "int16")}
    result = check_op(one_op_graph(op, infos), (), tmp_path, n=64)
    assert result["dsp"] == ["fully_connected_dsp.h"]  # the DSP kernel, bit-exact under the ACLE emulation
    y = result["graph"].run(r.integers(-32768, 32768, (200, depth), np.int16))
    rq = result["graph"].op_data[0].requant
    assert rq.wide == (bias == np.int64)
    assert (y == rq.act_max).mean() > 0.01 and (y == rq.act_min).mean() > 0.01 and len(np.unique(y)) > 50


def test_16x8_int32_bias_refuses_sums_that_could_overflow_int32():
    depth = 600  # 600 * 32768 * 127 > 2^31: TFLite Micro's int32 sum could wrap
    op = FullyConnected("fc", ("x",), "y", np.zeros((1, depth), np.int8), np.zeros(1, np.int32),
                        np.ones(1, np.float32), "none")
    infos = {"x": TensorInfo("x", (depth,), QuantParams(1.0, 0), "int16"),
             "y": TensorInfo("y", (1,), QuantParams(1.0, 0), "int16")}
    with pytest.raises(OverflowError):
        op.prepare(infos)
    op = FullyConnected("fc", ("x",), "y", np.zeros((1, depth), np.int8), np.zeros(1, np.int64),
                        np.ones(1, np.float32), "none")
    op.prepare(infos)  # an int64 bias sums in int64


@pytest.mark.parametrize("bias_type,want", [(None, [-1, 0, 1, 2]), ("INT32", [-2, -1, 1, 2])])
def test_16x8_without_a_bias_sums_as_quantized_bias_type_says(bias_type, want, tmp_path):
    """No bias tensor: TFLite Micro sums in int64 unless the options' quantized_bias_type is INT32. Read
    from the file, x · 1/4 on the ties -6, -2, 2, 6 rounds as TFLite Micro does on the same file."""
    from dataclasses import replace

    from tflite.TensorType import TensorType

    from pocketml.deploy.tflite.reader import read_tflite
    from pocketml.deploy.tflite.runtimes import run_tflite
    from pocketml.deploy.tflite.writer import tflite_spec
    from pocketml.ops.tflite_write import options

    op = FullyConnected("fc", ("x",), "y", np.ones((1, 1), np.int8), np.zeros(1, np.int64), np.ones(1, np.float32),
                        "none")
    infos = {"x": TensorInfo("x", (1,), QuantParams(1.0, 0), "int16"),
             "y": TensorInfo("y", (1,), QuantParams(4.0, 0), "int16")}
    spec = tflite_spec(one_op_graph(op, infos))
    fc = spec.operators[0]
    extra = {} if bias_type is None else {"QuantizedBiasType": getattr(TensorType, bias_type)}
    spec.operators[0] = replace(fc, inputs=(*fc.inputs[:2], -1),
                                write_options=options("FullyConnectedOptions", **extra))
    path = tmp_path / "nobias.tflite"
    path.write_bytes(spec.serialise())
    graph = read_tflite(path).graph
    assert graph.ops[0].bias.dtype == (np.int32 if bias_type else np.int64)
    x = np.array([[-6], [-2], [2], [6]], np.int16)
    assert graph.run(x).ravel().tolist() == want
    assert np.asarray(run_tflite(path, x, "tflm").outputs[0]).ravel().tolist() == want


@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("depth,cout,bias", [(1, 3, np.int64), (7, 5, np.int32), (600, 6, np.int64)])
def test_16x8_dsp_kernel_is_bit_exact_at_the_limits(optimize, depth, cout, bias, tmp_path):
    """The 16x8 DSP kernel built for speed (int16 weights) and size (int8 weights widened in the loop),
    under the ACLE emulation with ASan/UBSan (an int32 partial sum that overflows aborts): inputs at
    -32768 and 32767 against weights at ±127, depths with a tail and past one int32 chunk (256)."""
    from pocketml.deploy.verify.conformance import ACLE, check_dsp

    if not (ACLE / "arm_acle.h").is_file():
        pytest.skip("no ACLE emulation header in this checkout")
    r = np.random.default_rng(depth)
    w = r.integers(-127, 128, (cout, depth)).astype(np.int8)
    w[0] = 127  # channel 0: every product at its largest, the same sign
    w[1] = -127
    b = r.integers(-2**20, 2**20, cout).astype(bias)
    op = FullyConnected("fc", ("x",), "y", w, b, np.full(cout, 1 / 127, np.float32), "none")
    s_out = float(np.sqrt(depth)) * 4.0
    infos = {"x": TensorInfo("x", (depth,), QuantParams(1.0, 0), "int16"),
             "y": TensorInfo("y", (cout,), QuantParams(s_out, 0), "int16")}
    graph = one_op_graph(op, infos)
    x = r.integers(-32768, 32768, (40, depth), dtype=np.int16)
    x[0], x[1], x[2] = -32768, 32767, np.where(np.arange(depth) % 2, -32768, 32767)
    ref = graph.run_flat(x)
    assert check_dsp(graph, x, ref, tmp_path, optimize) == ["fully_connected_dsp.h"]
    assert len(np.unique(ref)) > 20
