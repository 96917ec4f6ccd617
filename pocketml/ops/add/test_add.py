"""ADD: residual joins through check_op, goldens of two scales and a fused ReLU, rejections; int16
operands (TFLite's 16x8 models) against TFLite Micro."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_int16_binary, check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.add import Add
from pocketml.ops.broadcast import Constant


class Residual(nn.Module):
    """conv-bn-relu-conv-bn + (1x1 conv or identity) shortcut, then ReLU: a DAG with a join."""

    def __init__(self, cin: int, cout: int, shortcut: bool) -> None:
        super().__init__()
        self.a, self.bn_a = nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)
        self.b, self.bn_b = nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout)
        self.s = nn.Conv2d(cin, cout, 1) if shortcut else nn.Identity()

    def forward(self, x):
        return torch.relu(self.bn_b(self.b(torch.relu(self.bn_a(self.a(x))))) + self.s(x))


CONFIGS = {
    "residual-relu": (lambda: Residual(3, 4, shortcut=True), (3, 6, 6)),
    "residual-identity": (lambda: Residual(4, 4, shortcut=False), (4, 5, 5)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_two_scales_golden():
    # 1.0 (q=10 at 0.1) + 2.0 (q=10 at 0.2, zero point 5 -> q=15) = 3.0 -> q=30+(-4) at 0.1, zp -4
    t = tensors(a=((1,), QuantParams(0.1, 0)), b=((1,), QuantParams(0.2, 5)), y=((1,), QuantParams(0.1, -4)))
    assert run_op(Add("add", ("a", "b"), "y"), t, [10], [15]).tolist() == [26]


def test_fused_relu_clamps_at_the_zero_point():
    q = QuantParams(0.1, 0)
    t = tensors(a=((2,), q), b=((2,), q), y=((2,), QuantParams(0.1, -20)))
    assert run_op(Add("add", ("a", "b"), "y", "relu"), t, [-50, 3], [-50, 4]).tolist() == [-20, -13]


class ChannelShift(nn.Module):
    """conv + a per-channel constant (the shift of an unfused batch norm), then + 3 (a scalar)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 3, 1)
        self.shift = nn.Parameter(torch.tensor([0.5, -2.0, 1.0]).reshape(3, 1, 1))

    def forward(self, x):
        return torch.relu(self.conv(x) + self.shift) + 3.0


def test_constant_operands_broadcast(tmp_path):
    errors = check_op(ChannelShift(), (4, 5, 5), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


class UnfusedBatchNorm(nn.Module):
    """A batch norm after an add (nothing to fold into): a per-channel MUL and ADD, as TFLite writes it."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.bn = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)

    def forward(self, x):
        return self.bn(self.a(x) + self.b(x))


def test_unfused_batch_norm(tmp_path):
    errors = check_op(UnfusedBatchNorm(), (2, 5, 5), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert [op.kind for op in errors["graph"].ops][-2:] == ["mul", "add"]


def test_constant_first_operand_and_strides(tmp_path):
    c = Constant(np.arange(-60, 60, 20, dtype=np.int8).reshape(3, 1, 2), QuantParams(0.02, -3), index=0)
    t = tensors(x=((3, 4, 2), QuantParams(0.05, 7)), y=((3, 4, 2), QuantParams(0.06, -9)))
    check_op(one_op_graph(Add("a", ("x",), "y", "relu6", c), t), (), tmp_path)


def test_same_shape_adds_keep_the_flat_loop():
    """No broadcast geometry for same-shape operands: the generated C of existing models is unchanged."""
    q = QuantParams(0.1, 0)
    t = tensors(a=((2, 3), q), b=((2, 3), q), y=((2, 3), q))
    assert Add("add", ("a", "b"), "y").prepare(t).geometry is None


@pytest.mark.parametrize("z_shape,scales,match", [
    ((3,), (0.1, 0.1, 0.1), "broadcast"),
    ((4,), (1e3, 0.1, 1e-6), "too far apart"),
])
def test_prepare_rejects(z_shape, scales, match):
    t = tensors(x=((4,), QuantParams(scales[0], 0)), z=(z_shape, QuantParams(scales[1], 0)),
                y=((4,), QuantParams(scales[2], 0)))
    with pytest.raises(ValueError, match=match):
        Add("a", ("x", "z"), "y").prepare(t)


@pytest.mark.parametrize("shape_b,zero_points,act,out_scale", [
    ((4, 5, 3), (0, 0, 0), "none", 2e-4),      # same shapes: the flat loop; a small output scale saturates
    ((1, 1, 3), (0, 0, 0), "relu6", 3e-4),     # broadcast across the map
    ((4, 5, 3), (7, -300, 11), "none", 3e-4),  # zero points (TFLite Micro's kernel takes them)
])
def test_int16_matches_tflite_micro(shape_b, zero_points, act, out_scale, tmp_path):
    """int16 operands and output (TFLite's 16x8 models: left shift 15): reference == C == TFLite Micro."""
    za, zb, zy = zero_points
    quants = QuantParams(1e-4, za), QuantParams(3e-4, zb), QuantParams(out_scale, zy)
    result, y, rq = check_int16_binary(Add("add", ("a", "b"), "y", act), ((4, 5, 3), shape_b), quants, tmp_path)
    assert result["dsp"] == []
    assert y.dtype == np.int16 and (y == rq.act_max).any() and (y == rq.act_min).any() and len(np.unique(y)) > 1000


def test_int16_refuses_mixed_types():
    infos = {"a": TensorInfo("a", (3,), QuantParams(1e-4, 0), "int16"), "b": TensorInfo("b", (3,), QuantParams(0.1, 0)),
             "y": TensorInfo("y", (3,), QuantParams(1e-4, 0), "int16")}
    with pytest.raises(ValueError, match="int8 or int16 operands of one type"):
        Add("add", ("a", "b"), "y").prepare(infos)
