"""AVERAGE_POOL_2D: check_op configurations, TFLM's rounding and padding goldens, rejections; int16
(TFLite's 16x8 models) against TFLite Micro."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.avg_pool2d import AvgPool2D

Q = QuantParams(0.1, 0)
CONFIGS = {
    "2x2": (lambda: nn.AvgPool2d(2), (3, 8, 8)),
    "3x3-s2-p1-excl": (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 9, 7)),
    "ceil-3x3-s2-even": (lambda: nn.AvgPool2d(3, stride=2, ceil_mode=True), (2, 8, 10)),   # TFLite SAME
    "1d": (lambda: nn.AvgPool1d(4), (3, 12)),
    "1d-ceil-s2": (lambda: nn.AvgPool1d(3, stride=2, ceil_mode=True), (3, 10)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["max_err_lsb"] < 1.5, errors


def test_rounds_half_away_from_zero():
    # windows {1, 2} -> 1.5 -> 2 and {-1, -2} -> -1.5 -> -2 (TFLM's rounding, not numpy's even)
    op = AvgPool2D("p", ("x",), "y", (1, 2), (1, 2), (0, 0))
    assert run_op(op, tensors(x=((1, 4, 1), Q), y=((1, 2, 1), Q)), [[[1], [2], [-1], [-2]]]).ravel().tolist() == [2, -2]


def test_excludes_padding_from_the_count():
    op = AvgPool2D("p", ("x",), "y", (3, 3), (1, 1), (1, 1))
    assert run_op(op, tensors(x=((2, 2, 1), Q), y=((2, 2, 1), Q)), [[[4], [8]], [[12], [16]]]).ravel().tolist() \
        == [10, 10, 10, 10]


def test_capture_refuses_counting_the_padding():
    with pytest.raises(PocketMLError, match="count_include_pad"):
        capture(nn.AvgPool2d(3, padding=1), torch.zeros(1, 4, 8, 8))


@pytest.mark.parametrize("op,shapes,match", [
    (AvgPool2D("p", ("x",), "y", (2, 2), (1, 1), (2, 2)), {"x": ((4, 4, 1), Q), "y": ((7, 7, 1), Q)},
     "smaller than the kernel"),
    (AvgPool2D("p", ("x",), "y", (2, 2), (2, 2), (0, 0)), {"x": ((4, 4, 1), Q), "y": ((2, 2, 1), QuantParams(0.3, 0))},
     "same quantization"),
])
def test_prepare_rejects(op, shapes, match):
    with pytest.raises(ValueError, match=match):
        op.prepare(tensors(**shapes))


@pytest.mark.parametrize("kernel,stride,padding,end,act,channels", [
    ((2, 2), (2, 2), (0, 0), None, "none", 4),   # 4 channels: the int8 DSP kernel would take it; int16 keeps C
    ((3, 3), (2, 2), (1, 0), (1, 1), "relu6", 3),  # SAME on 7x8: the padding is not counted
    ((7, 8), (1, 1), (0, 0), None, "none", 5),   # a global average: 56 taps of up to 32768
])
def test_int16_matches_tflite_micro(kernel, stride, padding, end, act, channels, tmp_path):
    """int16 activations (TFLite's 16x8 models): reference == C (and the DSP build) == TFLite Micro."""
    op = AvgPool2D("p", ("x",), "y", kernel, stride, padding, act, end)
    q = QuantParams(0.001, 0)
    infos = {"x": TensorInfo("x", (7, 8, channels), q, "int16"),
             "y": TensorInfo("y", (*op.out_hw((7, 8)), channels), q, "int16")}
    result = check_op(one_op_graph(op, infos), (), tmp_path)
    assert result["dsp"] == []
    y = result["graph"].run(np.full((1, 7, 8, channels), 32767, np.int16))
    assert y.dtype == np.int16 and y.max() == (6000 if act == "relu6" else 32767)


def test_int16_rounds_half_away_from_zero():
    op = AvgPool2D("p", ("x",), "y", (1, 2), (1, 2), (0, 0))
    infos = {n: TensorInfo(n, s, QuantParams(1.0, 0), "int16") for n, s in (("x", (1, 4, 1)), ("y", (1, 2, 1)))}
    got = op.evaluate(op.prepare(infos), np.array([20001, 20000, -20001, -20000], np.int16).reshape(1, 1, 4, 1))
    assert got.ravel().tolist() == [20001, -20001]  # 20000.5 -> 20001, -20000.5 -> -20001
