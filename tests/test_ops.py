"""Every op configuration through check_op, plus rejections at prepare/capture time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from check_op import check_op
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.graph.ops import Conv2D, FullyConnected, MaxPool2D
from pocketml.graph.ops.requantize import activation_range

CONFIGS = {
    "conv3x3-same": (lambda: nn.Conv2d(3, 5, 3, padding=1), (3, 8, 8)),
    "conv3x3-stride2-valid": (lambda: nn.Conv2d(3, 4, 3, stride=2), (3, 9, 9)),
    "conv-rect-dilated": (lambda: nn.Conv2d(2, 3, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2), (2, 10, 11)),
    "conv1x1-nobias": (lambda: nn.Conv2d(4, 6, 1, bias=False), (4, 5, 5)),
    "conv-bn-relu": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()), (3, 6, 6)),
    "conv-relu6": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU6()), (1, 7, 7)),
    "linear": (lambda: nn.Linear(20, 7), (20,)),
    "linear-relu": (lambda: nn.Sequential(nn.Linear(33, 9), nn.ReLU()), (33,)),
    "maxpool2": (lambda: nn.MaxPool2d(2), (3, 8, 8)),
    "maxpool3-s2-p1": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 9, 9)),
    "conv-pool-flatten-fc": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                                   nn.Flatten(), nn.Linear(4 * 3 * 4, 5)), (2, 6, 8)),
    # issue 4: the rest of the op set (each also checked against TFLM by the verify helper)
    "dwconv3x3-bn-relu": (lambda: nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.BatchNorm2d(4), nn.ReLU()),
                          (4, 7, 6)),
    "dwconv-mult2-stride2-dilated-relu6": (lambda: nn.Sequential(
        nn.Conv2d(3, 6, (3, 5), stride=2, padding=(2, 1), dilation=(2, 1), groups=3), nn.ReLU6()), (3, 11, 9)),
    "conv1d": (lambda: nn.Sequential(nn.Conv1d(3, 5, 5, stride=2, padding=2), nn.BatchNorm1d(5), nn.ReLU()), (3, 20)),
    "conv1d-depthwise-flatten-fc": (lambda: nn.Sequential(nn.Conv1d(4, 4, 3, groups=4), nn.Flatten(),
                                                          nn.Linear(4 * 8, 3)), (4, 10)),
    "avgpool2": (lambda: nn.AvgPool2d(2), (3, 8, 8)),
    "avgpool3-s2-p1-excl": (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 9, 7)),
    "global-avgpool": (lambda: nn.Sequential(nn.Conv2d(2, 6, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()), (2, 7, 9)),
    "mean-hw-keepdim": (lambda: _Lambda(lambda x: x.mean((2, 3), keepdim=True), nn.Conv2d(3, 5, 1)), (3, 6, 6)),
    "residual-add-relu": (lambda: _Residual(3, 4, shortcut=True), (3, 6, 6)),
    "residual-identity-add": (lambda: _Residual(4, 4, shortcut=False), (4, 5, 5)),
    "concat-channels": (lambda: _Concat(), (3, 6, 6)),
    "pad-asymmetric": (lambda: nn.Sequential(nn.ZeroPad2d((0, 1, 2, 1)), nn.Conv2d(2, 3, 3)), (2, 5, 5)),
    "relu-standalone": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.ReLU()), (2, 8, 8)),
    "relu6-standalone": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.ReLU6()), (2, 8, 8)),
    "linear-softmax": (lambda: nn.Sequential(nn.Linear(20, 10), nn.Softmax(dim=1)), (20,)),
    # the planner writes these stride-1 convs overlapping their dying inputs (shifted in place)
    "ds-block-shifted-in-place": (lambda: nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),
        nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.MaxPool2d(2)), (1, 12, 12)),
}


class _Lambda(nn.Module):
    def __init__(self, fn, first: nn.Module) -> None:
        super().__init__()
        self.fn, self.first = fn, first

    def forward(self, x):
        return self.fn(self.first(x))


class _Residual(nn.Module):
    """conv-bn-relu-conv-bn + (1x1 conv or identity) shortcut, then ReLU: a DAG with a join."""

    def __init__(self, cin: int, cout: int, shortcut: bool) -> None:
        super().__init__()
        self.a, self.bn_a = nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)
        self.b, self.bn_b = nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout)
        self.s = nn.Conv2d(cin, cout, 1) if shortcut else nn.Identity()

    def forward(self, x):
        return torch.relu(self.bn_b(self.b(torch.relu(self.bn_a(self.a(x))))) + self.s(x))


class _Concat(nn.Module):
    """Two branches with different ranges joined on channels (forces one shared scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 2, 3, padding=1), nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.b.weight.mul_(4.0)  # a wider range than branch a

    def forward(self, x):
        return torch.cat([torch.relu(self.a(x)), self.b(x)], dim=1)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_check_op(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    # int8 against float: within a few output steps (input, weight and output rounding)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_flatten_permutes_fc_columns_to_nhwc(tmp_path):
    """A wrong CHW→HWC permutation would give errors of many steps, not a fraction of one."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 5 * 6, 3))
    errors = check_op(model, (3, 5, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0


def test_batchnorm_is_folded_into_the_conv():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)).eval()
    model[1].running_mean.uniform_(-1, 1)
    model[1].running_var.uniform_(0.5, 2)
    graph = capture(model, torch.zeros(1, 2, 5, 5))
    assert [layer.kind for layer in graph.layers] == ["conv2d"]
    x = torch.randn(4, 2, 5, 5)
    layer = graph.layers[0]
    w = torch.as_tensor(layer.weight).permute(0, 3, 1, 2)
    folded = torch.nn.functional.conv2d(x, w, torch.as_tensor(layer.bias))
    assert torch.allclose(folded, model(x), atol=1e-5)


@pytest.mark.parametrize("model,needle", [
    (nn.Sequential(nn.Conv2d(4, 2, 3), nn.Sigmoid()), "sigmoid"),
    (nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
    (nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), "ceil_mode"),
    (nn.AvgPool2d(3, padding=1), "count_include_pad"),
    (nn.Sequential(nn.Conv2d(4, 2, 1), _Lambda(lambda x: x.mean(1), nn.Identity())), "mean over dims"),
    (_Lambda(lambda x: torch.cat([x, x], dim=2), nn.Identity()), "cat on dim 2"),
    (nn.ConstantPad2d(1, 0.5), "only zero padding"),
    (_Lambda(lambda x: x + 1.0, nn.Conv2d(4, 2, 1)), "constant"),
    (nn.Sequential(nn.Conv2d(4, 2, 1), nn.Flatten(), nn.Softmax(dim=1)), "flattened"),
    (nn.Sequential(nn.Conv2d(4, 4, 3), nn.Hardtanh(-1.0, 1.0)), "hardtanh"),
    (nn.AdaptiveAvgPool2d(2), "only to 1x1"),
])
def test_unsupported_layers_are_named(model, needle):
    with pytest.raises(PocketMLError) as info:
        capture(model, torch.zeros(1, 4, 8, 8))
    message = str(info.value)
    assert needle.lower() in message.lower()
    assert "pocketml can deploy" in message


def _tensors(x_shape, y_shape, xq=QuantParams(0.1, 0), yq=QuantParams(0.2, 3)):
    return {"x": TensorInfo("x", x_shape, xq), "y": TensorInfo("y", y_shape, yq)}


def test_conv_prepare_rejects_mismatched_shapes():
    op = Conv2D("c", ("x",), "y", np.zeros((2, 3, 3, 4), np.int8), np.zeros(2, np.int32),
                np.ones(2, np.float32), (1, 1), (0, 0), (1, 1), "none")
    with pytest.raises(ValueError, match="does not match"):
        op.prepare(_tensors((5, 5, 3), (3, 3, 2)))
    with pytest.raises(ValueError, match="inconsistent"):
        op.prepare(_tensors((5, 5, 4), (5, 5, 2)))


def test_prepare_rejects_accumulators_that_could_overflow():
    depth = 70_000  # 70000 * 255 * 127 > 2^31
    op = FullyConnected("fc", ("x",), "y", np.zeros((1, depth), np.int8), np.zeros(1, np.int32),
                        np.ones(1, np.float32), "none")
    with pytest.raises(OverflowError):
        op.prepare(_tensors((depth,), (1,)))


def test_max_pool_prepare_requires_shared_quantization():
    op = MaxPool2D("p", ("x",), "y", (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match="same quantization"):
        op.prepare(_tensors((4, 4, 1), (2, 2, 1)))


def test_activation_range_relu6_and_unknown():
    q = QuantParams(6.0 / 255, -128)
    assert activation_range("relu", q) == (-128, 127)
    assert activation_range("relu6", QuantParams(0.1, -10)) == (-10, 50)
    with pytest.raises(ValueError, match="supported"):
        activation_range("gelu", q)


def test_quant_params_from_range_makes_zero_exact():
    q = QuantParams.from_range(-1.0, 3.0)
    assert q.dequantize(q.quantize(np.array([0.0])))[0] == 0.0
    with pytest.raises(ValueError):
        QuantParams(0.0, 0)
