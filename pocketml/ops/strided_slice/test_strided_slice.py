"""STRIDED_SLICE: PyTorch slices and every step pattern (negative too) through check_op (reference == C
under sanitizers == TFLite Micro); TFLite's begin/end/mask resolution; SLICE; a golden; rejections."""

from __future__ import annotations

import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.strided_slice import StridedSlice
from pocketml.ops.strided_slice.tflite import resolve

Q = QuantParams(0.05, -3)


class SliceOf(nn.Module):
    def __init__(self, dim: int, s: slice) -> None:
        super().__init__()
        self.conv, self.dim, self.s = nn.Conv2d(2, 6, 3), dim, s

    def forward(self, x):
        y = self.conv(x)
        index = [slice(None)] * 4
        index[self.dim] = self.s
        return y[tuple(index)]


@pytest.mark.parametrize("dim,s", [(1, slice(1, 5)), (2, slice(0, None, 2)), (3, slice(-3, None))])
def test_pytorch_slices(dim, s, tmp_path):
    errors = check_op(SliceOf(dim, s), (2, 7, 8), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


@pytest.mark.parametrize("shape,begin,size,stride", [
    ((4, 5, 6), (1, 0, 2), (2, 5, 3), (1, 1, 1)),
    ((4, 5, 6), (3, 4, 5), (2, 3, 3), (-2, -1, -2)),   # backwards, to the start of each axis
    ((3, 4, 5), (1, 1, 0), (2, 2, 3), (1, 2, 2)),
])
def test_step_patterns(shape, begin, size, stride, tmp_path):
    t = tensors(x=(shape, Q), y=(size, Q))
    check_op(one_op_graph(StridedSlice("s", ("x",), "y", begin, size, stride), t), (), tmp_path)


def test_tflite_resolution_of_masks_and_negative_indices():
    # batch kept; axis 1: begin masked; axis 2: -3.. end masked; axis 3: shrunk at index 2
    parts = resolve((1, 5, 6, 4), [0, 3, -3, 2], [1, 4, 0, 0], [1, 1, 1, 1], begin_mask=0b0010,
                    end_mask=0b0100, shrink_mask=0b1000)
    assert parts == [(0, 1, 1), (0, 4, 1), (3, 3, 1), (2, 1, 1)]
    assert resolve((1, 6), [0, -1], [1, -7], [1, -2]) == [(0, 1, 1), (5, 3, -2)]  # 5, 3, 1


def test_golden():
    t = tensors(x=((5,), Q), y=((2,), Q))
    assert run_op(StridedSlice("s", ("x",), "y", (4,), (2,), (-3,)), t, [10, 11, 12, 13, 14]).tolist() == [14, 11]


@pytest.mark.parametrize("shape,begin,size,stride,match", [
    ((4,), (3,), (3,), (1,), "leave the axis"),
    ((2, 2, 2, 2), (0, 0, 0, 0), (1, 1, 1, 1), (1, 1, 1, 1), "at most 4"),  # TFLite Micro's limit
])
def test_prepare_rejects(shape, begin, size, stride, match):
    with pytest.raises(ValueError, match=match):
        StridedSlice("s", ("x",), "y", begin, size, stride).prepare(tensors(x=(shape, Q), y=(size, Q)))
