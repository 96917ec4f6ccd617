"""SUB: a residual difference, a constant subtracted (either side) and broadcast strides through
check_op (reference == C under sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_int16_binary, check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.broadcast import Constant
from pocketml.ops.sub import Sub


class Difference(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 3, 1)
        self.mean = nn.Parameter(torch.tensor([0.2, -0.4, 1.0]).reshape(3, 1, 1))

    def forward(self, x):
        return torch.relu(self.a(x) - self.b(x)) - self.mean


class OneMinus(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        return 1.0 - torch.sigmoid(self.fc(x))


@pytest.mark.parametrize("build,shape", [(Difference, (2, 5, 5)), (OneMinus, (6,))])
def test_conformance(build, shape, tmp_path):
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_constant_first_and_strides(tmp_path):
    c = Constant(np.arange(-100, 100, 25, dtype=np.int8).reshape(4, 2), QuantParams(0.03, 11), index=0)
    t = tensors(x=((3, 4, 2), QuantParams(0.05, 7)), y=((3, 4, 2), QuantParams(0.07, -2)))
    check_op(one_op_graph(Sub("s", ("x",), "y", "none", c), t), (), tmp_path)


def test_golden():
    # 3.0 (q=30 at 0.1) - 1.0 (q=5 at 0.2) = 2.0 -> q = 20 at 0.1, zp 1 -> 21
    t = tensors(a=((1,), QuantParams(0.1, 0)), b=((1,), QuantParams(0.2, 0)), y=((1,), QuantParams(0.1, 1)))
    assert run_op(Sub("s", ("a", "b"), "y"), t, [30], [5]).tolist() == [21]


def test_prepare_rejects_shapes_that_do_not_broadcast():
    q = QuantParams(0.1, 0)
    with pytest.raises(ValueError, match="broadcast"):
        Sub("s", ("a", "b"), "y").prepare(tensors(a=((4,), q), b=((3,), q), y=((4,), q)))


@pytest.mark.parametrize("shape_b,zero_points,act,out_scale", [
    ((4, 5, 3), (0, 0, 0), "none", 2e-4),      # same shapes; a small output scale saturates both ways
    ((1, 1, 3), (0, 0, 0), "relu", 3e-4),      # broadcast across the map, a fused ReLU
    ((4, 5, 3), (7, -300, 11), "none", 3e-4),  # zero points (TFLite Micro's kernel takes them)
])
def test_int16_matches_tflite_micro(shape_b, zero_points, act, out_scale, tmp_path):
    """int16 operands and output (TFLite's 16x8 models: left shift 15): reference == C == TFLite Micro."""
    za, zb, zy = zero_points
    quants = QuantParams(1e-4, za), QuantParams(3e-4, zb), QuantParams(out_scale, zy)
    _, y, rq = check_int16_binary(Sub("sub", ("a", "b"), "y", act), ((4, 5, 3), shape_b), quants, tmp_path)
    assert y.dtype == np.int16 and (y == rq.act_max).any() and (y == rq.act_min).any() and len(np.unique(y)) > 1000


def test_int16_refuses_mixed_types():
    infos = {"a": TensorInfo("a", (3,), QuantParams(1e-4, 0), "int16"), "b": TensorInfo("b", (3,), QuantParams(0.1, 0)),
             "y": TensorInfo("y", (3,), QuantParams(1e-4, 0), "int16")}
    with pytest.raises(ValueError, match="int8 or int16 operands of one type"):
        Sub("sub", ("a", "b"), "y").prepare(infos)


@pytest.mark.parametrize("dtype,scales", [("int8", (0.01, 0.03, 0.02)), ("int8", (0.1, 0.3, 0.2)),
                                          ("int16", (1e-4, 3e-4, 2e-4))])
def test_multipliers_from_double_quotients_on_ties(dtype, scales, tmp_path):
    """Scales whose real outputs land on ties: TFLite Micro's multipliers are the float32 scales' quotients in
    double (float32 quotients round 5-7% of these outputs the other way)."""
    infos = {n: TensorInfo(n, (40,), QuantParams(s, 0), dtype) for n, s in zip("aby", scales, strict=True)}
    graph = QuantGraph("sub_ties", infos, [Sub("sub", ("a", "b"), "y")], ("a", "b"), "y")
    check_op(graph, (), tmp_path, n=200)
