"""RELU as an op of its own (after a pool, where it cannot be fused): check_op and a golden."""

from __future__ import annotations

from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.relu import ReLU


def test_conformance(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.ReLU()), (2, 8, 8), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_rescales_and_clamps_at_zero():
    t = tensors(x=((3,), QuantParams(0.1, 10)), y=((3,), QuantParams(0.2, -128)))
    assert run_op(ReLU("r", ("x",), "y"), t, [0, 10, 30]).tolist() == [-128, -128, -118]
