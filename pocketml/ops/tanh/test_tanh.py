"""TANH: check_op (reference == C under sanitizers == TFLite Micro) on every int8 input at several
input scales, after a conv and as PyTorch's nn.Tanh; goldens; rejections."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.tflite.writer import write_tflite
from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.tanh import Tanh
from pocketml.ops.tanh.op import OUTPUT_QUANT


@pytest.mark.parametrize("scale,zero_point", [(0.01, 0), (0.05, 30), (0.25, -100)])
def test_every_int8_input_matches_tflite_micro(scale, zero_point, tmp_path):
    t = tensors(x=((256,), QuantParams(scale, zero_point)), y=((256,), OUTPUT_QUANT))
    check_op(one_op_graph(Tanh("tanh", ("x",), "y"), t), (), tmp_path)


def test_conformance_after_a_conv(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)),
                      (2, 6, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_golden_zero_odd_and_saturation():
    # 0.0 -> 0; tanh is odd; far outside the radius -> +-1 (127 / -128)
    t = tensors(x=((5,), QuantParams(0.05, 0)), y=((5,), OUTPUT_QUANT))
    got = run_op(Tanh("t", ("x",), "y"), t, [0, 10, -10, 127, -128]).tolist()
    assert got[0] == 0 and got[1] == -got[2] and got[1] == round(128 * 0.46211715726) and got[3:] == [127, -128]


def test_prepare_refuses_another_output_quantization():
    t = tensors(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(1 / 128, 3)))
    with pytest.raises(ValueError, match="1/128"):
        Tanh("t", ("x",), "y").prepare(t)


OUT16 = QuantParams(1 / 32768, 0)  # Q0.15: what TFLite Micro requires


def graph16(scale: float, out=OUT16, zero_point: int = 0, shape=(8, 64)) -> QuantGraph:
    """One int16 TANH (TFLite's 16x8 models) reading input scale ``scale``."""
    infos = {"x": TensorInfo("x", shape, QuantParams(scale, zero_point), "int16"),
             "y": TensorInfo("y", shape, out, "int16")}
    return QuantGraph("tanh16", infos, [Tanh("tanh", ("x",), "y")], "x", "y")


# 2^-12 and 2^-11: TFLite Micro's power-of-two path (m = 3 or 6, no shift); 2^-12 · 1.0002: taken as
# a power of two (CheckedLog2's 1e-3); the rest: the general multiplier (the largest saturate most inputs)
@pytest.mark.parametrize("scale", [2.0**-12, 2.0**-11, 2.0**-12 * 1.0002, 2.0**-15, 2.0**-9, 1.3e-4, 7.7e-4,
                                   0.011, 0.9])
def test_int16_full_range_matches_tflite_micro(scale, tmp_path):
    """Random full-range int16 inputs: reference == C (ASan/UBSan) == TFLite Micro; the graph read back."""
    graph = graph16(scale)
    check_op(graph, (), tmp_path)
    back = read_tflite(write_tflite(graph)).graph
    x = np.random.default_rng(1).integers(-32768, 32768, (16, 8, 64), np.int16)
    y = graph.run(x)
    assert y.dtype == np.int16 and np.array_equal(back.run(x), y)
    v = x.astype(np.float64) * scale  # within a few Q0.15 steps of the real function
    assert np.abs(y / 32768 - np.tanh(v)).max() < 4e-4

