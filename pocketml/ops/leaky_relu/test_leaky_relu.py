"""LEAKY_RELU: check_op (reference == C under sanitizers == TFLite Micro), a golden, rejections."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams
from pocketml.ops.leaky_relu import LeakyReLU


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0])
def test_conformance(slope, tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.LeakyReLU(slope), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    errors = check_op(model, (2, 8, 8), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_golden_slope_and_identity():
    # x at scale 0.1, zero point 10; y at 0.1, zero point 0; alpha 0.5
    # q_x = 30 -> v = 20 -> 2.0 -> 20;  q_x = -10 -> v = -20 -> -2.0 * 0.5 = -1.0 -> -10
    t = tensors(x=((2,), QuantParams(0.1, 10)), y=((2,), QuantParams(0.1, 0)))
    assert run_op(LeakyReLU("l", ("x",), "y", 0.5), t, [30, -10]).tolist() == [20, -10]


def test_capture_refuses_a_negative_slope():
    with pytest.raises(PocketMLError, match="negative_slope"):
        capture(nn.Sequential(nn.Conv2d(4, 4, 3), nn.LeakyReLU(-0.5)), torch.zeros(1, 4, 8, 8))


def test_prepare_refuses_alpha_outside_0_1():
    q = QuantParams(0.1, 0)
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU("l", ("x",), "y", 0.0).prepare(tensors(x=((4,), q), y=((4,), q)))
