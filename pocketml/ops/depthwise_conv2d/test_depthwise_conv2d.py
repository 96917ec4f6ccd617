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
    "5x2-strided-dilated-8ch": ((7, 6, 8), 1, (5, 2), (2, 1), (2, 1), (1, 2), "none", 20000.0),  # an even tap count
}
DSP_16X8 = {"3x3-same", "relu6-16ch", "5x2-strided-dilated-8ch"}  # depth multiplier 1, channels % 4 == 0


@pytest.mark.parametrize("config", list(CONFIGS_16X8))
def test_16x8_matches_tflite_micro_and_saturates(config, tmp_path):
    """Reference == C (ASan/UBSan, portable and the DSP build) == TFLite Micro, full-range int16."""
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
    assert result["dsp"] == (["depthwise_conv2d_dsp.h"] if config in DSP_16X8 else [])  # else the portable kernel
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


@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("k,padding", [((3, 3), (1, 1)), ((8, 8), (3, 4))])
def test_16x8_dsp_kernel_is_bit_exact_at_the_limits(optimize, k, padding, tmp_path):
    """The 16x8 DSP kernel built for speed (int16 weights) and size (int8 weights widened in the loop)
    under the ACLE emulation with ASan/UBSan (an int32 sum that overflows aborts): inputs at -32768 and
    32767 against weights at ±127 in channels 0 and 1, padding taps, an odd tap count, and 64 taps (the
    most the kernel takes: 64 products of 2^22 stay in int32)."""
    from pocketml.deploy.verify.conformance import ACLE, check_dsp

    if not (ACLE / "arm_acle.h").is_file():
        pytest.skip("no ACLE emulation header in this checkout")
    r = np.random.default_rng(5)
    c = 8
    w = r.integers(-127, 128, (1, *k, c)).astype(np.int8)
    w[..., 0], w[..., 1] = 127, -127
    op = DepthwiseConv2D("d", ("x",), "y", w, r.integers(-2**20, 2**20, c).astype(np.int64),
                         np.full(c, 1 / 127, np.float32), (1, 1), padding, (1, 1), 1, "none")
    out_hw = conv_output_hw((6, 7), k, (1, 1), padding, (1, 1))
    infos = {"x": TensorInfo("x", (6, 7, c), QuantParams(1.0, 0), "int16"),
             "y": TensorInfo("y", (*out_hw, c), QuantParams(float(k[0]) * 2000.0, 0), "int16")}
    graph = one_op_graph(op, infos)
    x = r.integers(-32768, 32768, (24, 6, 7, c), dtype=np.int16)
    x[0], x[1] = -32768, 32767
    ref = graph.run_flat(x)
    assert check_dsp(graph, x, ref, tmp_path, optimize) == ["depthwise_conv2d_dsp.h"]
    assert len(np.unique(ref)) > 20
