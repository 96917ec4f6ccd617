"""PAD: an asymmetric zero pad through check_op, rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.pad import Pad

Q = QuantParams(0.1, 0)


def test_conformance(tmp_path):
    errors = check_op(nn.Sequential(nn.ZeroPad2d((0, 1, 2, 1)), nn.Conv2d(2, 3, 3)), (2, 5, 5), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


class PadChannels(nn.Module):
    def __init__(self, pads, value: float = 0.0, signal: bool = False) -> None:
        super().__init__()
        self.pads, self.value = pads, value
        self.conv = nn.Conv1d(2, 3, 3) if signal else nn.Conv2d(2, 3, 3)

    def forward(self, x):
        return nn.functional.pad(self.conv(x), self.pads, value=self.value)


@pytest.mark.parametrize("build,shape", [
    (lambda: PadChannels((0, 0, 0, 0, 1, 2)), (2, 5, 5)),             # channels only (ResNet shortcuts)
    (lambda: PadChannels((1, 0, 0, 2, 0, 3), value=0.5), (2, 5, 5)),  # every axis, a value: PADV2
    (lambda: PadChannels((1, 1, 2, 0), signal=True), (2, 7)),         # a signal's width and channels
    (lambda: nn.Sequential(nn.Conv2d(2, 3, 1), nn.ConstantPad2d(1, -0.25)), (2, 4, 4)),
])
def test_any_axis_and_a_value(build, shape, tmp_path):
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_four_axes_with_a_value(tmp_path):
    q = QuantParams(0.05, 3)
    t = tensors(x=((2, 3, 2, 2), q), y=((3, 5, 2, 4), q))
    check_op(one_op_graph(Pad("p", ("x",), "y", ((1, 0), (0, 2), (0, 0), (1, 1)), -7), t), (), tmp_path)


def test_capture_refuses_reflection():
    with pytest.raises(PocketMLError, match="only constant padding"):
        capture(nn.ReflectionPad2d(1), torch.zeros(1, 4, 8, 8))


@pytest.mark.parametrize("op,y,match", [
    (Pad("p", ("x",), "y", ((0, -1), (0, 0))), ((1, 2, 1), Q), "non-negative"),
    (Pad("p", ("x",), "y", ((1, 1), (0, 0))), ((4, 2, 1), QuantParams(0.2, 0)), "same quantization"),
])
def test_prepare_rejects(op, y, match):
    with pytest.raises(ValueError, match=match):
        op.prepare(tensors(x=((2, 2, 1), Q), y=y))


@pytest.mark.parametrize("shape,pads", [
    ((4, 5, 3), ((1, 2), (0, 1))),                  # a map's rows and columns
    ((4, 5, 3), ((0, 1), (2, 0), (1, 2))),          # every axis, the channels too
    ((6, 3), ((2, 1), (0, 3))),                     # a signal
])
def test_int16_matches_tflite_micro(shape, pads, tmp_path):
    """int16 tensors (TFLite's 16x8 models), padded with 0: reference == C == TFLite Micro."""
    q = QuantParams(1e-3, 0)
    out = tuple(d + a + b for d, (a, b) in zip(shape, Pad("p", ("x",), "y", pads).axis_paddings(len(shape)),
                                               strict=True))
    infos = {"x": TensorInfo("x", shape, q, "int16"), "y": TensorInfo("y", out, q, "int16")}
    graph = QuantGraph("pad16", infos, [Pad("p", ("x",), "y", pads)], ("x",), "y")
    check_op(graph, (), tmp_path)
    y = graph.run(np.full((1, *shape), -32768, np.int16))
    assert y.dtype == np.int16 and set(np.unique(y)) == {-32768, 0}


@pytest.mark.parametrize("zero_point,value", [(5, None), (0, 3)])
def test_int16_refuses_zero_point_or_value(zero_point, value):
    q = QuantParams(1e-3, zero_point)
    infos = {"x": TensorInfo("x", (2, 2, 1), q, "int16"), "y": TensorInfo("y", (4, 2, 1), q, "int16")}
    with pytest.raises(ValueError, match="int16 PAD takes zero point 0"):
        Pad("p", ("x",), "y", ((1, 1), (0, 0)), value).prepare(infos)
