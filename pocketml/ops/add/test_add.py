"""ADD: residual joins through check_op, goldens of two scales and a fused ReLU, rejections."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams
from pocketml.ops.add import Add


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


class _PlusConstant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.conv(x) + 1.0


def test_capture_refuses_a_constant():
    with pytest.raises(PocketMLError, match="constant"):
        capture(_PlusConstant(), torch.zeros(1, 4, 8, 8))


@pytest.mark.parametrize("z_shape,scales,match", [
    ((1,), (0.1, 0.1, 0.1), "broadcasting"),
    ((4,), (1e3, 0.1, 1e-6), "too far apart"),
])
def test_prepare_rejects(z_shape, scales, match):
    t = tensors(x=((4,), QuantParams(scales[0], 0)), z=(z_shape, QuantParams(scales[1], 0)),
                y=((4,), QuantParams(scales[2], 0)))
    with pytest.raises(ValueError, match=match):
        Add("a", ("x", "z"), "y").prepare(t)
