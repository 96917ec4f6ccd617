"""RESIZE_NEAREST_NEIGHBOR: nn.Upsample and every TFLite mode through check_op (reference == C under
sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.resize_nearest_neighbor import ResizeNearestNeighbor

Q = QuantParams(0.05, 3)


def test_upsample_x2(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv2d(2, 3, 3), nn.Upsample(scale_factor=2), nn.Conv2d(3, 2, 1)),
                      (2, 5, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


@pytest.mark.parametrize("align,half,out", [(False, False, (7, 3)), (True, False, (8, 9)), (False, True, (5, 11))])
def test_modes_and_odd_sizes(align, half, out, tmp_path):
    t = tensors(x=((4, 6, 2), Q), y=((*out, 2), Q))
    check_op(one_op_graph(ResizeNearestNeighbor("r", ("x",), "y", align, half), t), (), tmp_path)


def test_golden_doubling():
    t = tensors(x=((1, 2, 1), Q), y=((1, 4, 1), Q))
    assert run_op(ResizeNearestNeighbor("r", ("x",), "y"), t, [[[1], [2]]]).ravel().tolist() == [1, 1, 2, 2]


def test_prepare_refuses_a_change_of_channels():
    with pytest.raises(ValueError, match="H', W', C"):
        ResizeNearestNeighbor("r", ("x",), "y").prepare(tensors(x=((2, 2, 1), Q), y=((4, 4, 2), Q)))
