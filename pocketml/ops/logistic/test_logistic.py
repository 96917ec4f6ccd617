"""LOGISTIC: check_op (reference == C under sanitizers == TFLite Micro) on every int8 input at
several input scales, after a conv and as PyTorch's nn.Sigmoid; goldens; rejections."""

from __future__ import annotations

import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.logistic import Logistic
from pocketml.ops.logistic.op import OUTPUT_QUANT


@pytest.mark.parametrize("scale,zero_point", [(0.02, 0), (0.0625, -20), (0.3, 100)])
def test_every_int8_input_matches_tflite_micro(scale, zero_point, tmp_path):
    t = tensors(x=((256,), QuantParams(scale, zero_point)), y=((256,), OUTPUT_QUANT))
    check_op(one_op_graph(Logistic("sigmoid", ("x",), "y"), t), (), tmp_path)


def test_conformance_after_a_conv(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 4, 3), nn.Sigmoid(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)),
                      (2, 6, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_golden_half_and_saturation():
    # q_x = z_x is 0.0 -> 0.5 -> q_y = 0; far above the radius -> 127; far below -> -128
    t = tensors(x=((3,), QuantParams(0.1, 5)), y=((3,), OUTPUT_QUANT))
    assert run_op(Logistic("s", ("x",), "y"), t, [5, 127, -128]).tolist() == [0, 127, -128]


def test_prepare_refuses_another_output_quantization():
    t = tensors(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(1 / 255, -128)))
    with pytest.raises(ValueError, match="1/256"):
        Logistic("s", ("x",), "y").prepare(t)

