"""SOFTMAX: check_op, TFLite's fixed output, goldens, rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.softmax import OUTPUT_QUANT, Softmax


def test_conformance(tmp_path):
    errors = check_op(nn.Sequential(nn.Linear(20, 10), nn.Softmax(dim=1)), (20,), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_equal_logits_give_a_uniform_distribution():
    # p = 1/4 -> q = 256/4 - 128 = -64, exactly
    t = tensors(x=((4,), QuantParams(0.1, 0)), y=((4,), OUTPUT_QUANT))
    assert run_op(Softmax("s", ("x",), "y"), t, [7, 7, 7, 7]).tolist() == [-64] * 4


def test_is_within_one_step_of_float():
    r = np.random.default_rng(0)
    t = tensors(x=((10,), QuantParams(0.08, -5)), y=((10,), OUTPUT_QUANT))
    op = Softmax("s", ("x",), "y")
    x = r.integers(-128, 128, size=(200, 10)).astype(np.int8)
    got = op.evaluate(op.prepare(t), x).astype(np.float64)
    real = 0.08 * (x.astype(np.float64) + 5)
    p = np.exp(real - real.max(1, keepdims=True))
    want = p / p.sum(1, keepdims=True) * 256 - 128
    assert np.abs(got - np.clip(want, -128, 127)).max() <= 1.0


def test_capture_refuses_a_flattened_map():
    with pytest.raises(PocketMLError, match="flattened"):
        capture(nn.Sequential(nn.Conv2d(4, 2, 1), nn.Flatten(), nn.Softmax(dim=1)), torch.zeros(1, 4, 8, 8))


def test_prepare_requires_the_fixed_output():
    with pytest.raises(ValueError, match="1/256"):
        Softmax("s", ("x",), "y").prepare(tensors(x=((4,), QuantParams(0.1, 0)), y=((4,), QuantParams(0.1, 0))))


def test_int16_output_matches_tflite_micro(tmp_path):
    """int8 in, int16 out at (1/65536, -32768): TFLite Micro's audio models (keyword_scrambled)."""
    from pocketml.deploy.verify.conformance import check_op, one_op_graph
    from pocketml.graph.ir import QuantParams, TensorInfo
    from pocketml.ops.softmax import Softmax

    t = {"x": TensorInfo("x", (3, 5), QuantParams(0.07, 2)),
         "y": TensorInfo("y", (3, 5), QuantParams(1 / 65535, -32768), "int16")}
    graph = check_op(one_op_graph(Softmax("s", ("x",), "y"), t), (), tmp_path)["graph"]
    out = graph.run(np.random.default_rng(0).integers(-128, 128, (4, 3, 5), dtype=np.int8))
    assert out.dtype == np.int16 and out.max() > 127  # 16 bits of probability, not 8


def test_int16_output_needs_tflite_micros_parameters():
    from pocketml.graph.ir import QuantParams, TensorInfo
    from pocketml.ops.softmax import Softmax

    t = {"x": TensorInfo("x", (5,), QuantParams(0.07, 2)), "y": TensorInfo("y", (5,), QuantParams(1 / 256, -32768),
                                                                         "int16")}
    with pytest.raises(ValueError, match="1/65536"):
        Softmax("s", ("x",), "y").prepare(t)


@pytest.mark.parametrize("depth,scale,beta", [(10, 1e-3, 1.0), (7, 3e-4, 1.0), (12, 2e-3, 0.5), (3, 2e-5, 1.0)])
def test_int16_matches_tflite_micro(depth, scale, beta, tmp_path):
    """int16 in and out (TFLite's 16x8 models, SoftmaxInt16's two tables): reference == C == TFLite Micro."""
    infos = {"x": TensorInfo("x", (2, depth), QuantParams(scale, 0), "int16"),
             "y": TensorInfo("y", (2, depth), QuantParams(1 / 32768, 0), "int16")}
    graph = QuantGraph("sm16", infos, [Softmax("sm", ("x",), "y", beta)], ("x",), "y")
    check_op(graph, (), tmp_path)
    x = np.array([[[32767] + [-32768] * (depth - 1), [0] * depth]], np.int16)  # the limits, and a flat row
    z = np.exp(x.astype(np.float64) * scale * beta)
    want = z / z.sum(axis=-1, keepdims=True) * 32768
    assert np.abs(graph.run(x) - np.minimum(want, 32767)).max() < 0.01 * 32768


def test_int16_tables_are_tflites_construction():
    """The exp table runs from exp(-10) to exp(0) = 1.0 in Q0.15 (saturated), 1/(1+x) from 1 to 1/2."""
    from pocketml.ops.softmax import int16

    e, r = int16.exp_lut(), int16.recip_lut()
    assert len(e) == len(r) == 513 and e[-1] == 32767 and abs(e[0] - round(np.exp(-10) * 32768)) <= 2
    assert r[0] == 32767 and abs(r[-1] - 16384) <= 1 and all(np.diff(e) >= 0) and all(np.diff(r) <= 0)


def test_int16_refuses_an_int8_output():
    infos = {"x": TensorInfo("x", (4,), QuantParams(1e-3, 0), "int16"), "y": TensorInfo("y", (4,), QuantParams(1 / 256,
                                                                                                               -128))}
    with pytest.raises(ValueError, match="SOFTMAX reading int16 writes int16"):
        Softmax("sm", ("x",), "y").prepare(infos)
