"""The issue-4 ops at the integer level: hand-computed goldens, TFLite's fixed-point helpers, and
every configuration ``prepare`` must refuse (C == reference is in test_ops.py via check_op)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pocketml.graph import fixedpoint
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.graph.ops import Add, AvgPool2D, Concatenation, DepthwiseConv2D, Mean, Pad, ReLU, ReLU6, Softmax

SOFTMAX_Q = QuantParams(1 / 256, -128)


def _t(**shapes_quants):
    return {name: TensorInfo(name, shape, quant) for name, (shape, quant) in shapes_quants.items()}


def _run(op, tensors, *xs):
    return op.evaluate(op.prepare(tensors), *(np.asarray(x, np.int8)[None] for x in xs))[0]


# -- goldens (worked by hand) ------------------------------------------------------------------
def test_add_of_two_scales_golden():
    # 1.0 (q=10 at 0.1) + 2.0 (q=10 at 0.2, zero point 5 -> q=15) = 3.0 -> q=30+(-4) at 0.1, zp -4
    t = _t(a=((1,), QuantParams(0.1, 0)), b=((1,), QuantParams(0.2, 5)), y=((1,), QuantParams(0.1, -4)))
    assert _run(Add("add", ("a", "b"), "y"), t, [10], [15]).tolist() == [26]


def test_add_fused_relu_clamps_at_the_zero_point():
    t = _t(a=((2,), QuantParams(0.1, 0)), b=((2,), QuantParams(0.1, 0)), y=((2,), QuantParams(0.1, -20)))
    assert _run(Add("add", ("a", "b"), "y", "relu"), t, [-50, 3], [-50, 4]).tolist() == [-20, -13]


def test_avg_pool_rounds_half_away_from_zero():
    # windows {1, 2} -> 1.5 -> 2 and {-1, -2} -> -1.5 -> -2 (TFLM's rounding, not numpy's even)
    t = _t(x=((1, 4, 1), QuantParams(0.1, 0)), y=((1, 2, 1), QuantParams(0.1, 0)))
    op = AvgPool2D("p", ("x",), "y", (1, 2), (1, 2), (0, 0))
    assert _run(op, t, [[[1], [2], [-1], [-2]]]).ravel().tolist() == [2, -2]


def test_avg_pool_excludes_padding_from_the_count():
    t = _t(x=((2, 2, 1), QuantParams(0.1, 0)), y=((2, 2, 1), QuantParams(0.1, 0)))
    op = AvgPool2D("p", ("x",), "y", (3, 3), (1, 1), (1, 1))
    assert _run(op, t, [[[4], [8]], [[12], [16]]]).ravel().tolist() == [10, 10, 10, 10]


def test_mean_is_the_rounded_average():
    t = _t(x=((2, 2, 2), QuantParams(0.5, 1)), y=((2,), QuantParams(0.25, -3)))
    x = [[[1, 9], [3, 1]], [[5, 1], [7, 1]]]  # channel 0: reals 0,1,2,3 -> 1.5; channel 1: 4,0,0,0 -> 1.0
    assert _run(Mean("m", ("x",), "y", (2,)), t, x).tolist() == [3, 1]


def test_softmax_of_equal_logits_is_uniform():
    # p = 1/4 -> q = 256/4 - 128 = -64, exactly
    t = _t(x=((4,), QuantParams(0.1, 0)), y=((4,), SOFTMAX_Q))
    assert _run(Softmax("s", ("x",), "y"), t, [7, 7, 7, 7]).tolist() == [-64] * 4


def test_softmax_is_within_one_step_of_float():
    r = np.random.default_rng(0)
    t = _t(x=((10,), QuantParams(0.08, -5)), y=((10,), SOFTMAX_Q))
    op = Softmax("s", ("x",), "y")
    x = r.integers(-128, 128, size=(200, 10)).astype(np.int8)
    got = op.evaluate(op.prepare(t), x).astype(np.float64)
    real = 0.08 * (x.astype(np.float64) + 5)
    p = np.exp(real - real.max(1, keepdims=True))
    want = p / p.sum(1, keepdims=True) * 256 - 128
    assert np.abs(got - np.clip(want, -128, 127)).max() <= 1.0


def test_relu_rescales_and_relu6_clamps():
    t = _t(x=((3,), QuantParams(0.1, 10)), y=((3,), QuantParams(0.2, -128)))
    assert _run(ReLU("r", ("x",), "y"), t, [0, 10, 30]).tolist() == [-128, -128, -118]
    t6 = _t(x=((3,), QuantParams(0.1, -100)), y=((3,), QuantParams(0.1, -100)))
    assert _run(ReLU6("r6", ("x",), "y"), t6, [-128, -50, 100]).tolist() == [-100, -50, -40]


def test_depthwise_multiplier_orders_channels_like_tflite():
    # input channel c feeds outputs c*M .. c*M+M-1; 1x1 kernel, weights [1, 1, 1, 4]
    w = np.array([1, 2, 3, 4], np.int8).reshape(1, 1, 1, 4)
    op = DepthwiseConv2D("d", ("x",), "y", w, np.zeros(4, np.int32), np.ones(4, np.float32), (1, 1), (0, 0),
                         (1, 1), 2, "none")
    t = _t(x=((1, 1, 2), QuantParams(1.0, 0)), y=((1, 1, 4), QuantParams(1.0, 0)))
    assert _run(op, t, [[[5, 7]]]).ravel().tolist() == [5, 10, 21, 28]


# -- TFLite's fixed-point helpers ----------------------------------------------------------------
def test_exp_on_negative_values_tracks_exp():
    a = np.linspace(-31.9, 0, 997)
    got = fixedpoint.exp_on_negative_values_q5(np.round(a * 2**26).astype(np.int32)) / 2**31
    assert np.abs(got - np.exp(a)).max() < 2e-6
    assert fixedpoint.exp_on_negative_values_q5(np.array([0], np.int32))[0] == 2**31 - 1


def test_reciprocal_and_leading_zeros():
    assert fixedpoint.count_leading_zeros_u32(np.array([1, 2**30, -1, 0, 2**31 - 1], np.int32)).tolist() == \
        [31, 1, 0, 32, 1]
    x = np.array([1 << 19, 3 << 19, 1000 << 19], np.int32)  # 1, 3, 1000 in Q12.19
    scale, bits = fixedpoint.get_reciprocal(x, 12)
    assert np.allclose(scale / 2**31 * 2.0 ** -bits.astype(float), [1, 1 / 3, 1 / 1000], rtol=1e-6)
    assert math.isclose(fixedpoint.one_over_one_plus_x_for_x_in_0_1(np.array([2**30], np.int32))[0] / 2**31,
                        2 / 3, rel_tol=1e-8)


# -- rejections at prepare time ------------------------------------------------------------------
@pytest.mark.parametrize("op,tensors,match", [
    (Concatenation("c", ("a", "b"), "y"),
     _t(a=((2, 2, 1), QuantParams(0.1, 0)), b=((2, 2, 1), QuantParams(0.2, 0)), y=((2, 2, 2), QuantParams(0.1, 0))),
     "quantized like the output"),
    (Concatenation("c", ("a", "b"), "y"),
     _t(a=((2, 2, 1), QuantParams(0.1, 0)), b=((3, 2, 1), QuantParams(0.1, 0)), y=((2, 2, 2), QuantParams(0.1, 0))),
     "agree on every axis"),
    (Softmax("s", ("x",), "y"), _t(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(0.1, 0))), "1/256"),
    (Add("a", ("x", "z"), "y"),
     _t(x=((4,), QuantParams(0.1, 0)), z=((1,), QuantParams(0.1, 0)), y=((4,), QuantParams(0.1, 0))),
     "broadcasting"),
    (Add("a", ("x", "z"), "y"),
     _t(x=((4,), QuantParams(1e3, 0)), z=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(1e-6, 0))),
     "too far apart"),
    (Pad("p", ("x",), "y", ((0, -1), (0, 0))),
     _t(x=((2, 2, 1), QuantParams(0.1, 0)), y=((1, 2, 1), QuantParams(0.1, 0))),
     "non-negative"),
    (Pad("p", ("x",), "y", ((1, 1), (0, 0))),
     _t(x=((2, 2, 1), QuantParams(0.1, 0)), y=((4, 2, 1), QuantParams(0.2, 0))),
     "same quantization"),
    (AvgPool2D("p", ("x",), "y", (2, 2), (1, 1), (2, 2)),
     _t(x=((4, 4, 1), QuantParams(0.1, 0)), y=((7, 7, 1), QuantParams(0.1, 0))), "smaller than the kernel"),
    (AvgPool2D("p", ("x",), "y", (2, 2), (2, 2), (0, 0)),
     _t(x=((4, 4, 1), QuantParams(0.1, 0)), y=((2, 2, 1), QuantParams(0.3, 0))), "same quantization"),
    (ReLU6("r", ("x",), "y"), _t(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(0.2, 0))), "same shape and quant"),
    (Mean("m", ("x",), "y", (3,)), _t(x=((2, 2, 2), QuantParams(0.1, 0)), y=((3,), QuantParams(0.1, 0))), "MEAN"),
    (DepthwiseConv2D("d", ("x",), "y", np.zeros((1, 3, 3, 4), np.int8), np.zeros(4, np.int32),
                     np.ones(4, np.float32), (1, 1), (1, 1), (1, 1), 1, "none"),
     _t(x=((5, 5, 3), QuantParams(0.1, 0)), y=((5, 5, 4), QuantParams(0.1, 0))), "depth multiplier"),
    (DepthwiseConv2D("d", ("x",), "y", np.zeros((1, 3, 3, 4), np.int8), np.zeros(4, np.int32),
                     np.ones(4, np.float32), (1, 1), (0, 0), (1, 1), 1, "none"),
     _t(x=((5, 5, 4), QuantParams(0.1, 0)), y=((5, 5, 4), QuantParams(0.1, 0))), "inconsistent"),
])
def test_prepare_rejects(op, tensors, match):
    with pytest.raises(ValueError, match=match):
        op.prepare(tensors)
