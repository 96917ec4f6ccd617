"""CONCATENATION: two branches of different ranges joined (one shared scale), rejections."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
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


def test_capture_refuses_the_batch_axis():
    with pytest.raises(PocketMLError, match="batch axis"):
        capture(_CatOnBatch(), torch.zeros(1, 4, 8, 8))


class _CatOnBatch(nn.Module):
    def forward(self, x):
        return torch.cat([x, x], dim=0)


class CatOn(nn.Module):
    def __init__(self, dim: int, signal: bool = False) -> None:
        super().__init__()
        self.dim = dim
        self.a = nn.Conv1d(3, 2, 3, padding=1) if signal else nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        return torch.cat([torch.relu(self.a(x)), self.a(x)], dim=self.dim)


@pytest.mark.parametrize("dim,signal,shape", [(2, False, (3, 5, 6)), (3, False, (3, 5, 6)), (2, True, (3, 7))])
def test_any_axis(dim, signal, shape, tmp_path):
    errors = check_op(CatOn(dim, signal), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_first_axis_of_a_4_axis_tensor(tmp_path):
    q = QuantParams(0.1, 2)
    t = tensors(x=((2, 3, 4, 2), q), y=((4, 3, 4, 2), q))
    graph = one_op_graph(Concatenation("c", ("x", "x"), "y", 0), t)
    check_op(graph, (), tmp_path)


Q1, Q2 = QuantParams(0.1, 0), QuantParams(0.2, 0)


@pytest.mark.parametrize("b,match", [
    (((2, 2, 1), Q2), "quantized like the output"),
    (((3, 2, 1), Q1), "agree on every axis but"),
])
def test_prepare_rejects(b, match):
    with pytest.raises(ValueError, match=match):
        Concatenation("c", ("a", "b"), "y").prepare(tensors(a=((2, 2, 1), Q1), b=b, y=((2, 2, 2), Q1)))


@pytest.mark.parametrize("axis,shapes", [(-1, ((3, 4, 2), (3, 4, 5))), (0, ((1, 4, 2), (3, 4, 2)))])
def test_int16_matches_tflite_micro(axis, shapes, tmp_path):
    """int16 tensors (TFLite's 16x8 models), copied as bytes: reference == C == TFLite Micro."""
    q = QuantParams(1e-3, 0)
    out = list(shapes[0])
    out[axis] = shapes[0][axis] + shapes[1][axis]
    infos = {"a": TensorInfo("a", shapes[0], q, "int16"), "b": TensorInfo("b", shapes[1], q, "int16"),
             "y": TensorInfo("y", tuple(out), q, "int16")}
    graph = QuantGraph("cat16", infos, [Concatenation("c", ("a", "b"), "y", axis)], ("a", "b"), "y")
    check_op(graph, (), tmp_path)
    assert "(const int8_t *)input0" in (tmp_path / "model.c").read_text()  # an int16_t model input, cast
