"""The int16 LOGISTIC and TANH (TFLite's 16x8 models) share one table, one arithmetic and TFLite
Micro's Prepare (``pocketml/ops/sigmoid16.py``): each op against TFLite Micro on full-range inputs at
several input scales, the input scaling, and the refusals through each op's prepare and the .tflite
reader. The ops' folders check their int8 forms."""

from __future__ import annotations

import numpy as np
import pytest
from tflite.BuiltinOperator import BuiltinOperator

from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.tflite.writer import write_tflite
from pocketml.deploy.verify.conformance import check_op
from pocketml.errors import PocketMLError
from pocketml.formats.tflite import OperatorSpec, TensorQuant, TensorSpec, TFLiteModelSpec
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops import sigmoid16
from pocketml.ops.logistic import Logistic
from pocketml.ops.tanh import Tanh

OPS = [(Logistic, BuiltinOperator.LOGISTIC), (Tanh, BuiltinOperator.TANH)]
FLOAT = {Logistic: lambda v: 1 / (1 + np.exp(-np.clip(v, -40, 40))), Tanh: np.tanh}
OUT16 = QuantParams(1 / 32768, 0)  # Q0.15: what TFLite Micro requires


def graph16(kind, scale: float, out=OUT16, zero_point: int = 0, shape=(8, 64)) -> QuantGraph:
    """One int16 LOGISTIC or TANH reading input scale ``scale``."""
    infos = {"x": TensorInfo("x", shape, QuantParams(scale, zero_point), "int16"),
             "y": TensorInfo("y", shape, out, "int16")}
    return QuantGraph("op16", infos, [kind("op", ("x",), "y")], "x", "y")


# 2^-12 and 2^-11: TFLite Micro's power-of-two path (m = 3 or 6, no shift); 2^-12 · 1.0002: taken as
# a power of two (CheckedLog2's 1e-3); the rest: the general multiplier (the largest saturate most inputs)
@pytest.mark.parametrize("kind", [Logistic, Tanh])
@pytest.mark.parametrize("scale", [2.0**-12, 2.0**-11, 2.0**-12 * 1.0002, 2.0**-15, 2.0**-9, 1.3e-4, 7.7e-4,
                                   0.011, 0.9])
def test_int16_full_range_matches_tflite_micro(kind, scale, tmp_path):
    """Random full-range int16 inputs: reference == C (ASan/UBSan) == TFLite Micro; the graph read back."""
    graph = graph16(kind, scale)
    check_op(graph, (), tmp_path)
    back = read_tflite(write_tflite(graph)).graph
    x = np.random.default_rng(1).integers(-32768, 32768, (16, 8, 64), np.int16)
    y = graph.run(x)
    assert y.dtype == np.int16 and np.array_equal(back.run(x), y)
    v = x.astype(np.float64) * scale  # within a few Q0.15 steps of the real function
    assert np.abs(y / 32768 - FLOAT[kind](v)).max() < 4e-4


def test_int16_input_scaling_is_tflite_micros_prepare():
    assert sigmoid16.input_scaling("s", "LOGISTIC", 2.0**-12) == (3, 0)
    assert sigmoid16.input_scaling("s", "LOGISTIC", 2.0**-11) == (6, 0)
    assert sigmoid16.input_scaling("s", "LOGISTIC", 2.0**-10) == (24576, 11)  # power of two, not 2^-12/2^-11
    assert sigmoid16.input_scaling("s", "LOGISTIC", 0.5) == (24576, 2)  # 6144 doubled twice past 32767 / 2
    assert sigmoid16.input_scaling("s", "LOGISTIC", 2.0) == (24576, 0)  # already past it: no shift
    with pytest.raises(ValueError, match="too large"):
        sigmoid16.input_scaling("s", "TANH", 6.0)


@pytest.mark.parametrize("kind,code", OPS)
@pytest.mark.parametrize("out,zero_point,match", [
    (QuantParams(1 / 32768, 3), 0, "output"),
    (QuantParams(1 / 16384, 0), 0, "output"),
    (QuantParams(1 / 32768, 0), 5, "zero point 0"),
])
def test_int16_refuses_what_tflite_micro_refuses(kind, code, out, zero_point, match):
    """The op's prepare and the .tflite reader refuse what TFLite Micro's Prepare refuses."""
    with pytest.raises(ValueError, match=match):
        _ = graph16(kind, 1e-3, out, zero_point, shape=(4,)).op_data
    spec = TFLiteModelSpec("bad")
    x = spec.add_tensor(TensorSpec("x", (1, 4), np.dtype(np.int16), TensorQuant((1e-3,), (zero_point,))))
    y = spec.add_tensor(TensorSpec("y", (1, 4), np.dtype(np.int16), TensorQuant((out.scale,), (out.zero_point,))))
    spec.add_operator(OperatorSpec(code, 3, (x,), (y,)))
    spec.inputs, spec.outputs = [x], [y]
    with pytest.raises(PocketMLError, match=match):
        read_tflite(spec.serialise())
