"""RELU6 as an op of its own: check_op, a golden, rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.relu6 import ReLU6


def test_conformance(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.ReLU6()), (2, 8, 8), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_clamps_to_zero_and_six():
    t = tensors(x=((3,), QuantParams(0.1, -100)), y=((3,), QuantParams(0.1, -100)))
    assert run_op(ReLU6("r6", ("x",), "y"), t, [-128, -50, 100]).tolist() == [-100, -50, -40]


def test_capture_refuses_other_hardtanh_bounds():
    with pytest.raises(PocketMLError, match="hardtanh"):
        capture(nn.Sequential(nn.Conv2d(4, 4, 3), nn.Hardtanh(-1.0, 1.0)), torch.zeros(1, 4, 8, 8))


def test_prepare_rejects_a_rescale():
    with pytest.raises(ValueError, match="same shape and quant"):
        ReLU6("r", ("x",), "y").prepare(tensors(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(0.2, 0))))


@pytest.mark.parametrize("scale,zero_point,six", [
    (4e-4, 0, 15000),      # six = 6 / 4e-4
    (1e-4, 0, 32767),      # six beyond int16: 32767
    (4e-4, -900, 14100),   # a zero point (TFLite Micro's int16 RELU6 takes one)
])
def test_int16_matches_tflite_micro(scale, zero_point, six, tmp_path):
    """int16 tensors (TFLite's 16x8 models): reference == C == TFLite Micro over the whole int16 range."""
    q = QuantParams(scale, zero_point)
    infos = {"x": TensorInfo("x", (5, 4, 3), q, "int16"), "y": TensorInfo("y", (5, 4, 3), q, "int16")}
    graph = QuantGraph("relu6_16", infos, [ReLU6("r", ("x",), "y")], ("x",), "y")
    check_op(graph, (), tmp_path)
    y = graph.run(np.array([-32768, -1, 0, 1, 32767] * 12, np.int16).reshape(1, 5, 4, 3))
    assert y.dtype == np.int16 and y.min() == zero_point and y.max() == six
