"""TANH: check_op (reference == C under sanitizers == TFLite Micro) on every int8 input at several
input scales, after a conv and as PyTorch's nn.Tanh; goldens; rejections."""

from __future__ import annotations

import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.tanh import Tanh
from pocketml.ops.tanh.op import OUTPUT_QUANT


@pytest.mark.parametrize("scale,zero_point", [(0.01, 0), (0.05, 30), (0.25, -100)])
def test_every_int8_input_matches_tflite_micro(scale, zero_point, tmp_path):
    t = tensors(x=((256,), QuantParams(scale, zero_point)), y=((256,), OUTPUT_QUANT))
    check_op(one_op_graph(Tanh("tanh", ("x",), "y"), t), (), tmp_path)


def test_conformance_after_a_conv(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)),
                      (2, 6, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_golden_zero_odd_and_saturation():
    # 0.0 -> 0; tanh is odd; far outside the radius -> +-1 (127 / -128)
    t = tensors(x=((5,), QuantParams(0.05, 0)), y=((5,), OUTPUT_QUANT))
    got = run_op(Tanh("t", ("x",), "y"), t, [0, 10, -10, 127, -128]).tolist()
    assert got[0] == 0 and got[1] == -got[2] and got[1] == round(128 * 0.46211715726) and got[3:] == [127, -128]


def test_prepare_refuses_another_output_quantization():
    t = tensors(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(1 / 128, 3)))
    with pytest.raises(ValueError, match="1/128"):
        Tanh("t", ("x",), "y").prepare(t)

