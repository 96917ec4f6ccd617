"""MAXIMUM: two branches, a constant and broadcast strides through check_op (reference == C under
sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.broadcast import Constant
from pocketml.ops.maximum import Maximum


class Branches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 3, 1)
        self.floor = nn.Parameter(torch.tensor([0.1, -0.3, 0.0]).reshape(3, 1, 1))

    def forward(self, x):
        return torch.maximum(torch.maximum(self.a(x), self.b(x)), self.floor)


def test_conformance(tmp_path):
    errors = check_op(Branches(), (2, 5, 5), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_constant_first_and_strides(tmp_path):
    q = QuantParams(0.05, 7)
    c = Constant(np.arange(-100, 100, 50, dtype=np.int8).reshape(4, 1), q, index=0)
    t = tensors(x=((3, 4, 2), q), y=((3, 4, 2), q))
    check_op(one_op_graph(Maximum("m", ("x",), "y", c), t), (), tmp_path)


def test_golden():
    q = QuantParams(0.1, 0)
    t = tensors(a=((3,), q), b=((3,), q), y=((3,), q))
    assert run_op(Maximum("m", ("a", "b"), "y"), t, [1, -5, 7], [2, -6, 7]).tolist() == [2, -5, 7]


def test_prepare_refuses_different_quantizations():
    t = tensors(a=((3,), QuantParams(0.1, 0)), b=((3,), QuantParams(0.2, 0)), y=((3,), QuantParams(0.1, 0)))
    with pytest.raises(ValueError, match="share one quantization"):
        Maximum("m", ("a", "b"), "y").prepare(t)
