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
}


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
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid()), "sigmoid"),
    (nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
    (nn.Sequential(nn.ReLU(), nn.Conv2d(1, 2, 3)), "ReLU"),
    (nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), "ceil_mode"),
])
def test_unsupported_layers_are_named(model, needle):
    with pytest.raises(PocketMLError) as info:
        capture(model, torch.zeros(1, 1 if needle != "groups=2" else 4, 8, 8))
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
