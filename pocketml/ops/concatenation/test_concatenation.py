"""CONCATENATION: two branches of different ranges joined (one shared scale), rejections."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams
from pocketml.ops.concatenation import Concatenation


class TwoBranches(nn.Module):
    """Two branches with different ranges joined on channels (forces one shared scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 2, 3, padding=1), nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.b.weight.mul_(4.0)  # a wider range than branch a

    def forward(self, x):
        return torch.cat([torch.relu(self.a(x)), self.b(x)], dim=1)


def test_conformance(tmp_path):
    errors = check_op(TwoBranches(), (3, 6, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


class _CatOnHeight(nn.Module):
    def forward(self, x):
        return torch.cat([x, x], dim=2)


def test_capture_refuses_another_axis():
    with pytest.raises(PocketMLError, match="cat on dim 2"):
        capture(_CatOnHeight(), torch.zeros(1, 4, 8, 8))


Q1, Q2 = QuantParams(0.1, 0), QuantParams(0.2, 0)


@pytest.mark.parametrize("b,match", [
    (((2, 2, 1), Q2), "quantized like the output"),
    (((3, 2, 1), Q1), "agree on every axis"),
])
def test_prepare_rejects(b, match):
    with pytest.raises(ValueError, match=match):
        Concatenation("c", ("a", "b"), "y").prepare(tensors(a=((2, 2, 1), Q1), b=b, y=((2, 2, 2), Q1)))
