"""DEPTHWISE_CONV_2D: check_op configurations, TFLite's channel order golden, rejections; TFLite's 16x8
scheme (int16 activations, int64 bias) against TFLite Micro with saturation."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.conv2d import conv_output_hw
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


# ---- 16x8: int16 activations (zero point 0), int8 weights, int64 bias ---------------------------------------------

CONFIGS_16X8 = {  # (x shape, multiplier, kernel, stride, padding, dilation, activation, spread)
    "3x3-same": ((6, 5, 4), 1, (3, 3), (1, 1), (1, 1), (1, 1), "none", 20000.0),
    "mult2-stride2-dilated-relu": ((9, 8, 3), 2, (3, 2), (2, 2), (2, 1), (2, 1), "relu", 20000.0),
    "relu6-16ch": ((5, 5, 16), 1, (3, 3), (1, 1), (1, 1), (1, 1), "relu6", 400.0),
}


@pytest.mark.parametrize("config", list(CONFIGS_16X8))
def test_16x8_matches_tflite_micro_and_saturates(config, tmp_path):
    """Reference == C (ASan/UBSan; the DSP build keeps the portable kernel) == TFLite Micro, full-range int16."""
    (h, w, c), mult, k, stride, padding, dilation, act, spread = CONFIGS_16X8[config]
    r = np.random.default_rng(0)
    cout = c * mult
    s_w = r.uniform(0.002, 0.008, cout).astype(np.float32)
    op = DepthwiseConv2D("d", ("x",), "y", r.integers(-127, 128, (1, *k, cout)).astype(np.int8),
                         r.integers(-2**20, 2**20, cout).astype(np.int64), s_w, stride, padding, dilation, mult, act)
    s_out = float(1e-3 * np.median(s_w) * np.sqrt(k[0] * k[1]) * 18918 * 73.6 / spread)  # output std: spread steps
    out_hw = conv_output_hw((h, w), k, stride, padding, dilation)
    infos = {"x": TensorInfo("x", (h, w, c), QuantParams(1e-3, 0), "int16"),
             "y": TensorInfo("y", (*out_hw, cout), QuantParams(s_out, 0), "int16")}
    result = check_op(one_op_graph(op, infos), (), tmp_path, n=48)
    assert result["dsp"] == []
    y = result["graph"].run(r.integers(-32768, 32768, (48, h, w, c), np.int16))
    rq = result["graph"].op_data[0].requant
    assert rq.wide and (y == rq.act_max).mean() > 0.01 and (y == rq.act_min).mean() > 0.01
    assert len(np.unique(y)) > 100


def test_16x8_refuses_an_int32_bias():
    """TFLite Micro's depthwise takes an int64 bias only with int16 activations."""
    op = DepthwiseConv2D("d", ("x",), "y", np.ones((1, 1, 1, 2), np.int8), np.zeros(2, np.int32),
                         np.ones(2, np.float32), (1, 1), (0, 0), (1, 1), 1, "none")
    infos = {n: TensorInfo(n, (3, 3, 2), QuantParams(1.0, 0), "int16") for n in ("x", "y")}
    with pytest.raises(ValueError, match="int64 bias"):
        op.prepare(infos)
