"""RELU as an op of its own (after a pool, where it cannot be fused): check_op and a golden."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.relu import ReLU


def test_conformance(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.ReLU()), (2, 8, 8), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_rescales_and_clamps_at_zero():
    t = tensors(x=((3,), QuantParams(0.1, 10)), y=((3,), QuantParams(0.2, -128)))
    assert run_op(ReLU("r", ("x",), "y"), t, [0, 10, 30]).tolist() == [-128, -128, -118]


@pytest.mark.parametrize("in_scale,out_scale,top", [
    (1e-3, 1e-3, 32767),    # M = 1: a clamp
    (1e-3, 3e-4, 32767),    # M > 1: a left shift, saturating at 32767
    (3e-4, 7e-4, 14043),    # M < 1: 32767 · 3/7
])
def test_int16_matches_tflite_micro(in_scale, out_scale, top, tmp_path):
    """int16 tensors (TFLite's 16x8 models): reference == C == TFLite Micro over the whole int16 range."""
    op = ReLU("r", ("x",), "y")
    infos = {"x": TensorInfo("x", (5, 4, 3), QuantParams(in_scale, 0), "int16"),
             "y": TensorInfo("y", (5, 4, 3), QuantParams(out_scale, 0), "int16")}
    graph = QuantGraph("relu16", infos, [op], ("x",), "y")
    check_op(graph, (), tmp_path)
    y = graph.run(np.array([-32768, -1, 0, 1, 32767] * 12, np.int16).reshape(1, 5, 4, 3))
    assert y.dtype == np.int16 and y.min() == 0 and abs(int(y.max()) - top) <= 1


def test_int16_refuses_a_zero_point():
    infos = {"x": TensorInfo("x", (3,), QuantParams(1e-3, 4), "int16"), "y": TensorInfo("y", (3,), QuantParams(1e-3, 0),
                                                                                         "int16")}
    with pytest.raises(ValueError, match="int16 RELU needs zero points 0"):
        ReLU("r", ("x",), "y").prepare(infos)
