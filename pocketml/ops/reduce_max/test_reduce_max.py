"""REDUCE_MAX: global max pooling from PyTorch and adjacent axes of every rank through check_op
(reference == C under sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.reduce_max import ReduceMax

Q = QuantParams(0.05, -3)


def test_global_max_pooling(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 4, 3), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4, 3)),
                      (2, 6, 7), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


@pytest.mark.parametrize("shape,axes,out", [
    ((4, 5, 3), (2,), (4, 5)),        # over channels
    ((4, 5, 3), (0, 1), (1, 1, 3)),   # over H, W, kept
    ((2, 3, 4, 5), (1, 2), (2, 5)),   # the middle of a 4-axis tensor
    ((4, 1, 3), (0, 2), (1,)),        # adjacent once the size-1 axis is left out
])
def test_axes(shape, axes, out, tmp_path):
    t = tensors(x=(shape, Q), y=(out, Q))
    check_op(one_op_graph(ReduceMax("m", ("x",), "y", out, axes), t), (), tmp_path)


def test_golden():
    t = tensors(x=((2, 2), Q), y=((2,), Q))
    assert run_op(ReduceMax("m", ("x",), "y", (2,), (1,)), t, [[1, -5], [7, 3]]).tolist() == [1, 7]


def test_prepare_rejects_axes_with_a_gap():
    with pytest.raises(ValueError, match="adjacent"):
        ReduceMax("m", ("x",), "y", (3,), (0, 2)).prepare(tensors(x=((2, 3, 2), Q), y=((3,), Q)))
