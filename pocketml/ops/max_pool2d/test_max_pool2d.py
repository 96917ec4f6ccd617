"""MAX_POOL_2D: check_op configurations and rejections; int16 (TFLite's 16x8 models) against TFLite Micro."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.max_pool2d import MaxPool2D

CONFIGS = {
    "2x2": (lambda: nn.MaxPool2d(2), (3, 8, 8)),
    "3x3-s2-p1": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 9, 9)),
    "ceil-3x3-s2-even": (lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True), (2, 8, 10)),   # SAME-like
    "ceil-2x2-odd": (lambda: nn.MaxPool2d(2, ceil_mode=True), (2, 7, 5)),                # PADV2 written
    "ceil-3-s2-p1": (lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 8, 8)),
    "1d": (lambda: nn.MaxPool1d(3, stride=2), (3, 12)),
    "1d-ceil-pad": (lambda: nn.MaxPool1d(2, padding=1, ceil_mode=True), (3, 9)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["max_err_lsb"] < 1.5, errors  # a max moves no value: rounding of the input only


def test_capture_refuses_dilation():
    with pytest.raises(PocketMLError, match="dilated"):
        capture(nn.Sequential(nn.MaxPool2d(2, dilation=2)), torch.zeros(1, 4, 8, 8))


def test_ceil_mode_drops_a_window_that_starts_in_the_padding():
    # in 5, k 2, s 2, p 1, ceil: ceil(5/2)+1 = 4 windows, but the 4th starts at 6 >= 5 + 1: 3 windows
    graph = capture(nn.Sequential(nn.MaxPool2d(2, 2, padding=1, ceil_mode=True)), torch.zeros(1, 1, 5, 5))
    assert graph.layers[0].out_shape == (3, 3, 1)


def test_prepare_requires_shared_quantization():
    op = MaxPool2D("p", ("x",), "y", (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match="same quantization"):
        op.prepare(tensors(x=((4, 4, 1), QuantParams(0.1, 0)), y=((2, 2, 1), QuantParams(0.2, 3))))


@pytest.mark.parametrize("kernel,stride,padding,end,act", [
    ((2, 2), (2, 2), (0, 0), None, "none"),
    ((3, 3), (2, 2), (1, 1), (1, 1), "relu"),  # SAME: skipped padding taps
    ((2, 3), (2, 2), (0, 0), (1, 1), "none"),  # neither SAME nor VALID: a PADV2 of -32768 is written first
])
def test_int16_matches_tflite_micro(kernel, stride, padding, end, act, tmp_path):
    """int16 activations (TFLite's 16x8 models): reference == C == TFLite Micro over the whole int16 range."""
    op = MaxPool2D("p", ("x",), "y", kernel, stride, padding, act, end)
    q = QuantParams(0.01, 0)
    infos = {"x": TensorInfo("x", (7, 8, 3), q, "int16"), "y": TensorInfo("y", (*op.out_hw((7, 8)), 3), q, "int16")}
    graph = check_op(one_op_graph(op, infos), (), tmp_path)["graph"]
    y = graph.run(np.full((1, 7, 8, 3), -32768, np.int16))
    assert y.dtype == np.int16 and y.min() == (0 if act == "relu" else -32768)
