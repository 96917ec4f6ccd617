"""CONV_2D: configurations through check_op (reference == C under sanitizers == TFLite Micro),
capture (BatchNorm folded, 1-D convolution) and the configurations ``prepare`` refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams
from pocketml.ops.conv2d import Conv2D

CONFIGS = {
    "3x3-same": (lambda: nn.Conv2d(3, 5, 3, padding=1), (3, 8, 8)),
    "3x3-stride2-valid": (lambda: nn.Conv2d(3, 4, 3, stride=2), (3, 9, 9)),
    "rect-dilated": (lambda: nn.Conv2d(2, 3, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2), (2, 10, 11)),
    "1x1-nobias": (lambda: nn.Conv2d(4, 6, 1, bias=False), (4, 5, 5)),
    "bn-relu": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()), (3, 6, 6)),
    "relu6": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU6()), (1, 7, 7)),
    "conv1d-bn-relu": (lambda: nn.Sequential(nn.Conv1d(3, 5, 5, stride=2, padding=2), nn.BatchNorm1d(5), nn.ReLU()),
                       (3, 20)),
    # >= 16 output channels: the kernel's whole 16-channel blocks and the channels left over both run
    "20ch-stride2-padded": (lambda: nn.Sequential(nn.Conv2d(3, 20, 3, stride=2, padding=1), nn.ReLU()), (3, 9, 8)),
    "32ch-dilated-rect": (lambda: nn.Conv2d(17, 32, (3, 2), padding=(2, 1), dilation=(2, 1)), (17, 7, 6)),
    "1x1-48ch": (lambda: nn.Conv2d(16, 48, 1), (16, 4, 5)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors  # int8 against float: within a few output steps
    assert errors["max_err_lsb"] < 6.0, errors


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
    (nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
    (nn.ConvTranspose2d(4, 2, 3), "conv_transpose"),
])
def test_capture_refuses(model, needle):
    with pytest.raises(PocketMLError) as info:
        capture(model, torch.zeros(1, 4, 8, 8))
    assert needle in str(info.value) and "pocketml can deploy" in str(info.value)


def test_prepare_rejects_mismatched_shapes():
    op = Conv2D("c", ("x",), "y", np.zeros((2, 3, 3, 4), np.int8), np.zeros(2, np.int32),
                np.ones(2, np.float32), (1, 1), (0, 0), (1, 1), "none")
    q = QuantParams(0.1, 0)
    with pytest.raises(ValueError, match="does not match"):
        op.prepare(tensors(x=((5, 5, 3), q), y=((3, 3, 2), q)))
    with pytest.raises(ValueError, match="inconsistent"):
        op.prepare(tensors(x=((5, 5, 4), q), y=((5, 5, 2), q)))
