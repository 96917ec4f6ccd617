"""PAD: an asymmetric zero pad through check_op, rejections."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams
from pocketml.ops.pad import Pad

Q = QuantParams(0.1, 0)


def test_conformance(tmp_path):
    errors = check_op(nn.Sequential(nn.ZeroPad2d((0, 1, 2, 1)), nn.Conv2d(2, 3, 3)), (2, 5, 5), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_capture_refuses_non_zero_padding():
    with pytest.raises(PocketMLError, match="only zero padding"):
        capture(nn.ConstantPad2d(1, 0.5), torch.zeros(1, 4, 8, 8))


@pytest.mark.parametrize("op,y,match", [
    (Pad("p", ("x",), "y", ((0, -1), (0, 0))), ((1, 2, 1), Q), "non-negative"),
    (Pad("p", ("x",), "y", ((1, 1), (0, 0))), ((4, 2, 1), QuantParams(0.2, 0)), "same quantization"),
])
def test_prepare_rejects(op, y, match):
    with pytest.raises(ValueError, match=match):
        op.prepare(tensors(x=((2, 2, 1), Q), y=y))
