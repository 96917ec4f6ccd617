"""TILE: x.repeat from PyTorch and 2-4 axis tilings through check_op (reference == C under sanitizers;
TFLite Micro has no TILE kernel, so the written .tflite runs in LiteRT's reference kernels instead); a
golden; rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.tflite import write_tflite
from pocketml.deploy.tflite.runtimes import run_tflite
from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.tile import Tile

Q = QuantParams(0.05, -3)


class Repeat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)

    def forward(self, x):
        return self.conv(x).repeat(1, 2, 1, 3)


def test_repeat(tmp_path):
    errors = check_op(Repeat(), (2, 5, 5), tmp_path, tflm=False)
    assert errors["mean_err_lsb"] < 1.0, errors


@pytest.mark.parametrize("shape,multiples", [((2, 3), (3, 2)), ((2, 3, 2), (1, 2, 3)), ((1, 2, 3, 2), (2, 1, 1, 2))])
def test_tilings_match_litert(shape, multiples, tmp_path):
    out = tuple(d * m for d, m in zip(shape, multiples, strict=True))
    graph = one_op_graph(Tile("t", ("x",), "y", multiples), tensors(x=(shape, Q), y=(out, Q)))
    check_op(graph, (), tmp_path, tflm=False)
    x = np.random.default_rng(0).integers(-128, 128, (8, *shape), dtype=np.int8)
    (tmp_path / "tile.tflite").write_bytes(write_tflite(graph))
    run = run_tflite(tmp_path / "tile.tflite", x, "litert-reference")
    assert np.array_equal(run.outputs[0].reshape(8, -1), graph.run_flat(x))


def test_golden():
    t = tensors(x=((2,), Q), y=((6,), Q))
    assert run_op(Tile("t", ("x",), "y", (3,)), t, [1, 2]).tolist() == [1, 2, 1, 2, 1, 2]


def test_prepare_rejects_a_zero_multiple():
    with pytest.raises(ValueError, match=">= 1"):
        Tile("t", ("x",), "y", (0,)).prepare(tensors(x=((2,), Q), y=((0,), Q)))


def test_capture_refuses_repeating_the_batch():
    from pocketml.errors import PocketMLError
    from pocketml.graph.capture import capture

    class BatchRepeat(nn.Module):
        def forward(self, x):
            return x.repeat(2, 1, 1, 1)

    with pytest.raises(PocketMLError, match="1 for the batch"):
        capture(BatchRepeat(), torch.zeros(1, 2, 3, 3))
