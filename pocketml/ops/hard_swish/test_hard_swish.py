"""HARD_SWISH: check_op (reference == C under sanitizers == TFLite Micro) on every int8 input at
several scale pairs, after a conv and as PyTorch's nn.Hardswish; goldens; rejections."""

from __future__ import annotations

import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.hard_swish import HardSwish


@pytest.mark.parametrize("x_quant,y_quant", [
    (QuantParams(0.05, 0), QuantParams(0.03, -100)),       # reluish exponent > 0
    (QuantParams(0.004, -20), QuantParams(0.002, -90)),    # reluish exponent < 0
    (QuantParams(0.1, 60), QuantParams(0.05, -128)),
])
def test_every_int8_input_matches_tflite_micro(x_quant, y_quant, tmp_path):
    t = tensors(x=((256,), x_quant), y=((256,), y_quant))
    check_op(one_op_graph(HardSwish("hswish", ("x",), "y"), t), (), tmp_path)


def test_conformance_after_a_conv(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 4, 3), nn.Hardswish(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)),
                      (2, 6, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 4.0, errors


def test_golden_zero_negative_and_identity_above_three():
    # x = 0 -> 0; x <= -3 -> 0; x >= 3 -> x.  Scale 0.1, zero points 0: q = 10 x
    t = tensors(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(0.1, 0)))
    assert run_op(HardSwish("h", ("x",), "y"), t, [0, -40, 40, 100]).tolist() == [0, 0, 40, 100]


def test_prepare_refuses_an_output_scale_far_below_the_input():
    t = tensors(x=((4,), QuantParams(1.0, 0)), y=((4,), QuantParams(1e-4, 0)))
    with pytest.raises(ValueError, match="exponent"):
        HardSwish("h", ("x",), "y").prepare(t)
