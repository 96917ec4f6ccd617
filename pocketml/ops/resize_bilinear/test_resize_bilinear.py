"""RESIZE_BILINEAR: F.interpolate (both corner modes) and TFLite's three modes through check_op
(reference == C under sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams
from pocketml.ops.resize_bilinear import ResizeBilinear

Q = QuantParams(0.05, 3)


class Interpolate(nn.Module):
    def __init__(self, size, align_corners: bool) -> None:
        super().__init__()
        self.conv, self.size, self.align = nn.Conv2d(2, 3, 3), size, align_corners

    def forward(self, x):
        return nn.functional.interpolate(self.conv(x), size=self.size, mode="bilinear", align_corners=self.align)


@pytest.mark.parametrize("align", [False, True])
def test_interpolate(align, tmp_path):
    errors = check_op(Interpolate((7, 9), align), (2, 6, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


@pytest.mark.parametrize("align,half,out", [(False, False, (7, 3)), (True, False, (8, 9)), (False, True, (3, 11))])
def test_modes_and_odd_sizes(align, half, out, tmp_path):
    t = tensors(x=((4, 6, 2), Q), y=((*out, 2), Q))
    check_op(one_op_graph(ResizeBilinear("r", ("x",), "y", align, half), t), (), tmp_path)


def test_golden_midpoint_rounds_away_from_zero():
    # align_corners 1x2 -> 1x3: the middle column is (1 + 2) / 2 = 1.5 -> 2; (-1 - 2) / 2 -> -2
    t = tensors(x=((1, 2, 2), Q), y=((1, 3, 2), Q))
    got = run_op(ResizeBilinear("r", ("x",), "y", align_corners=True), t, [[[1, -1], [2, -2]]])
    assert got[0, 1].tolist() == [2, -2]


def test_capture_refuses_a_fractional_scale():
    with pytest.raises(PocketMLError, match="whole sizes"):
        capture(nn.Upsample(scale_factor=1.5, mode="bilinear"), torch.zeros(1, 2, 5, 5))


def test_prepare_refuses_both_corner_modes():
    with pytest.raises(ValueError, match="cannot both"):
        ResizeBilinear("r", ("x",), "y", True, True).prepare(tensors(x=((2, 2, 1), Q), y=((4, 4, 1), Q)))
