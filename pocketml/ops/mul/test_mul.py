"""MUL: squeeze-excite, SiLU, a per-channel constant and broadcasts of two activations through
check_op (reference == C under sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_int16_binary, check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.broadcast import Constant
from pocketml.ops.mul import Mul


class SqueezeExcite(nn.Module):
    """x · sigmoid(W2 relu(W1 mean(x))): MobileNet's channel attention (a [1,1,C] gate over [H,W,C])."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, c, 3, padding=1)
        self.fc1, self.fc2 = nn.Conv2d(c, 2, 1), nn.Conv2d(2, c, 1)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * gate


class ChannelScale(nn.Module):
    """conv, then a learned per-channel scale (a constant operand of shape (C, 1, 1))."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.scale = nn.Parameter(torch.tensor([0.5, -2.0, 1.5]).reshape(3, 1, 1))

    def forward(self, x):
        return self.conv(x) * self.scale


CONFIGS = {
    "squeeze-excite": (SqueezeExcite, (2, 5, 5)),
    "silu": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.SiLU(), nn.Conv2d(4, 2, 1)), (2, 6, 6)),
    "channel-constant": (ChannelScale, (2, 6, 6)),
    "hardsigmoid": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.Hardsigmoid()), (2, 6, 6)),
    "square-then-relu": (lambda: nn.Sequential(nn.Linear(5, 4), _Square(), nn.ReLU()), (5,)),
}


class _Square(nn.Module):
    def forward(self, x):
        return x * x


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


@pytest.mark.parametrize("c_shape,index", [((4, 1), 0), ((3, 1, 2), 1), ((1,), 1)])
def test_constant_broadcast_patterns(c_shape, index, tmp_path):
    """A (3, 4, 2) activation times constants of other shapes, in either position: the C loops' strides."""
    c = Constant(np.random.default_rng(1).integers(-128, 128, c_shape).astype(np.int8), QuantParams(0.01, 5), index)
    t = tensors(x=((3, 4, 2), QuantParams(0.05, 7)), y=((3, 4, 2), QuantParams(0.004, -9)))
    check_op(one_op_graph(Mul("m", ("x",), "y", "relu", c), t), (), tmp_path)


def test_golden():
    # 2.0 (q=20 at 0.1) x -1.5 (q=-10 at 0.15, zp 0) = -3.0 -> q = -30 at 0.1, zp 4 -> -26
    t = tensors(a=((1,), QuantParams(0.1, 0)), b=((1,), QuantParams(0.15, 0)), y=((1,), QuantParams(0.1, 4)))
    assert run_op(Mul("m", ("a", "b"), "y"), t, [20], [-10]).tolist() == [-26]


@pytest.mark.parametrize("b_shape,out_scale,match", [((3,), 0.1, "broadcast"), ((4,), 1e-9, "int32")])
def test_prepare_rejects(b_shape, out_scale, match):
    t = tensors(a=((4,), QuantParams(0.1, 0)), b=(b_shape, QuantParams(0.1, 0)), y=((4,), QuantParams(out_scale, 0)))
    with pytest.raises((ValueError, OverflowError), match=match):
        Mul("m", ("a", "b"), "y").prepare(t)


def test_two_model_inputs_broadcast_against_each_other(tmp_path):
    """(3, 4, 2) x (4, 1): two model inputs (the C takes both, TFLite Micro is given both)."""
    from pocketml.graph.ir import QuantGraph

    t = tensors(x=((3, 4, 2), QuantParams(0.05, 7)), g=((4, 1), QuantParams(0.02, -30)),
                y=((3, 4, 2), QuantParams(0.01, 3)))
    graph = QuantGraph("two_inputs", t, [Mul("m", ("x", "g"), "y")], ("x", "g"), "y")
    check_op(graph, (), tmp_path)
    h = (tmp_path / "model.h").read_text()
    assert "OP_UNDER_TEST_INPUTS (2)" in h or "TWO_INPUTS_INPUTS (2)" in h


@pytest.mark.parametrize("shape_b,scales,act", [
    ((4, 5, 3), (1e-3, 2e-3, 3e-3), "none"),     # same shapes; the small output scale saturates both ways
    ((1, 1, 3), (1e-3, 1e-3, 4e-2), "relu"),     # broadcast across the map, a fused ReLU
    ((4, 5, 1), (3e-4, 7e-4, 1e-2), "relu6"),    # broadcast across the channels
])
def test_int16_matches_tflite_micro(shape_b, scales, act, tmp_path):
    """int16 operands and output (TFLite's 16x8 models, zero points 0): reference == C == TFLite Micro."""
    quants = tuple(QuantParams(s, 0) for s in scales)
    _, y, rq = check_int16_binary(Mul("mul", ("a", "b"), "y", act), ((4, 5, 3), shape_b), quants, tmp_path)
    assert y.dtype == np.int16 and (y == rq.act_min).any() and len(np.unique(y)) > 150
    assert (y == rq.act_max).any() == (act != "relu")  # 32.8² / 4e-2 < 32767: the ReLU case never saturates


def test_int16_square_and_limits(tmp_path):
    """x · x of one int16 tensor at its limits: (-32768)² = 2^30, the largest product, stays in int32."""
    infos = {"x": TensorInfo("x", (6,), QuantParams(1e-3, 0), "int16"),
             "y": TensorInfo("y", (6,), QuantParams(4e-2, 0), "int16")}
    graph = QuantGraph("sq16", infos, [Mul("mul", ("x", "x"), "y")], ("x",), "y")
    check_op(graph, (), tmp_path)
    y = graph.run(np.array([[-32768, 32767, -1, 0, 1, 100]], np.int16))
    assert y.tolist() == [[26844, 26842, 0, 0, 0, 0]]


@pytest.mark.parametrize("scales,zero_points,match", [
    ((1e-3, 1e-3, 1e-3), (0, 0, 5), "int16 MUL needs zero points 0"),
    ((1e-2, 1e-2, 1e-5), (0, 0, 0), "exceeds int32"),   # M = 10: a left shift of 2^30
])
def test_int16_refuses(scales, zero_points, match):
    infos = {n: TensorInfo(n, (3,), QuantParams(s, z), "int16") for n, s, z in zip("aby", scales, zero_points,
                                                                                    strict=True)}
    with pytest.raises((ValueError, OverflowError), match=match):
        Mul("mul", ("a", "b"), "y").prepare(infos)
