"""MEAN over H, W: check_op configurations, a rounding golden, rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.mean import Mean


class _MeanKeepdim(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        return self.conv(x).mean((2, 3), keepdim=True)


CONFIGS = {
    "adaptive-avgpool": (lambda: nn.Sequential(nn.Conv2d(2, 6, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()), (2, 7, 9)),
    "mean-hw-keepdim": (_MeanKeepdim, (3, 6, 6)),
    "adaptive-avgpool-1d": (lambda: nn.Sequential(nn.Conv1d(3, 4, 3), nn.AdaptiveAvgPool1d(1)), (3, 12)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


@pytest.mark.parametrize("shape,axes,out", [
    ((4, 5, 3), (2,), (4, 5)),        # over channels
    ((2, 3, 4, 5), (1, 2), (2, 5)),   # the middle of a 4-axis tensor
    ((6, 4), (0,), (4,)),             # the first axis of a 2-axis tensor
    ((1, 7, 3), (0, 1), (1, 1, 3)),   # H, W given as axes (a 1-high map)
])
def test_any_adjacent_axes(shape, axes, out, tmp_path):
    t = tensors(x=(shape, QuantParams(0.05, -3)), y=(out, QuantParams(0.03, 5)))
    check_op(one_op_graph(Mean("m", ("x",), "y", out, axes), t), (), tmp_path)


def test_is_the_rounded_average():
    t = tensors(x=((2, 2, 2), QuantParams(0.5, 1)), y=((2,), QuantParams(0.25, -3)))
    x = [[[1, 9], [3, 1]], [[5, 1], [7, 1]]]  # channel 0: reals 0,1,2,3 -> 1.5; channel 1: 4,0,0,0 -> 1.0
    assert run_op(Mean("m", ("x",), "y", (2,)), t, x).tolist() == [3, 1]


class _MeanOverChannels(nn.Module):
    def forward(self, x):
        return x.mean(1)


@pytest.mark.parametrize("model,needle", [
    (nn.AdaptiveAvgPool2d(2), "only to 1x1"),
    (nn.Sequential(nn.Conv2d(4, 2, 1), _MeanOverChannels()), "mean over dims"),
])
def test_capture_refuses(model, needle):
    with pytest.raises(PocketMLError, match=needle):
        capture(model, torch.zeros(1, 4, 8, 8))


def test_prepare_rejects_a_wrong_output_shape():
    q = QuantParams(0.1, 0)
    with pytest.raises(ValueError, match="MEAN"):
        Mean("m", ("x",), "y", (3,)).prepare(tensors(x=((2, 2, 2), q), y=((3,), q)))


@pytest.mark.parametrize("shape,axes,out,scales,zero_points", [
    ((6, 5, 4), None, (4,), (1e-3, 1e-3), (0, 0)),                 # H, W: global average pooling
    ((6, 5, 4), None, (1, 1, 4), (1e-3, 3e-4), (0, 0)),            # keep dims; a smaller output scale saturates
    ((6, 5, 4), (2,), (6, 5), (1e-3, 7e-4), (120, -3000)),         # the channels; zero points (TFLite Micro's int16
    ((7, 4), (0,), (4,), (2e-3, 1e-3), (0, 0)),                    # MEAN takes them); a signal's time
])
def test_int16_matches_tflite_micro(shape, axes, out, scales, zero_points, tmp_path):
    """int16 tensors (TFLite's 16x8 models): reference == C == TFLite Micro over the whole int16 range."""
    infos = {"x": TensorInfo("x", shape, QuantParams(scales[0], zero_points[0]), "int16"),
             "y": TensorInfo("y", out, QuantParams(scales[1], zero_points[1]), "int16")}
    graph = QuantGraph("mean16", infos, [Mean("m", ("x",), "y", out, axes)], ("x",), "y")
    check_op(graph, (), tmp_path)
    y = graph.run(np.full((1, *shape), 32767, np.int16))
    assert y.dtype == np.int16 and len(np.unique(graph.run(np.random.default_rng(0).integers(
        -32768, 32768, (64, *shape)).astype(np.int16)))) > 100
    if scales[1] < scales[0]:
        assert (y == 32767).all()
