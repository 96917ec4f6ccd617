"""DEPTHWISE_CONV_2D: check_op configurations, TFLite's channel order golden, rejections."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.depthwise_conv2d import DepthwiseConv2D

CONFIGS = {
    "3x3-bn-relu": (lambda: nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.BatchNorm2d(4), nn.ReLU()),
                    (4, 7, 6)),
    "mult2-stride2-dilated-relu6": (lambda: nn.Sequential(
        nn.Conv2d(3, 6, (3, 5), stride=2, padding=(2, 1), dilation=(2, 1), groups=3), nn.ReLU6()), (3, 11, 9)),
    "conv1d-depthwise": (lambda: nn.Conv1d(4, 4, 3, groups=4), (4, 10)),
    "18ch-padded": (lambda: nn.Sequential(nn.Conv2d(18, 18, 3, padding=1, groups=18), nn.ReLU6()), (18, 6, 5)),
    "32ch-stride2": (lambda: nn.Conv2d(32, 32, (3, 3), stride=2, padding=1, groups=32), (32, 7, 7)),
    "mult2-16ch": (lambda: nn.Conv2d(8, 16, 3, padding=1, groups=8), (8, 5, 5)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_depth_multiplier_orders_channels_like_tflite():
    # input channel c feeds outputs c*M .. c*M+M-1; 1x1 kernel, weights [1, 1, 1, 4]
    w = np.array([1, 2, 3, 4], np.int8).reshape(1, 1, 1, 4)
    op = DepthwiseConv2D("d", ("x",), "y", w, np.zeros(4, np.int32), np.ones(4, np.float32), (1, 1), (0, 0),
                         (1, 1), 2, "none")
    t = tensors(x=((1, 1, 2), QuantParams(1.0, 0)), y=((1, 1, 4), QuantParams(1.0, 0)))
    assert run_op(op, t, [[[5, 7]]]).ravel().tolist() == [5, 10, 21, 28]


def _dw(padding):
    return DepthwiseConv2D("d", ("x",), "y", np.zeros((1, 3, 3, 4), np.int8), np.zeros(4, np.int32),
                           np.ones(4, np.float32), (1, 1), padding, (1, 1), 1, "none")


@pytest.mark.parametrize("op,x_shape,match", [
    (_dw((1, 1)), (5, 5, 3), "depth multiplier"),
    (_dw((0, 0)), (5, 5, 4), "inconsistent"),
])
def test_prepare_rejects(op, x_shape, match):
    q = QuantParams(0.1, 0)
    with pytest.raises(ValueError, match=match):
        op.prepare(tensors(x=(x_shape, q), y=((5, 5, 4), q)))
