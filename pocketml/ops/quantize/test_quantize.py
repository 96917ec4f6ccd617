"""QUANTIZE: uint8 ⇄ int8 edges and int8 requantize through check_op (reference == C under
sanitizers == TFLite Micro, every input byte); a compiled .tflite with a uint8 input; goldens;
rejections."""

from __future__ import annotations

import numpy as np
import pytest

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.quantize import Quantize
from pocketml.ops.relu import ReLU


def _t(name, quant, dtype="int8", shape=(256,)):
    return {name: TensorInfo(name, shape, quant, dtype)}


@pytest.mark.parametrize("x,y", [
    (("uint8", QuantParams(0.02, 128)), ("int8", QuantParams(0.02, 0))),      # the usual edge: XOR 0x80
    (("uint8", QuantParams(1 / 255, 0)), ("int8", QuantParams(0.0078, -3))),  # rescaled
    (("int8", QuantParams(0.05, 4)), ("int8", QuantParams(0.11, -20))),       # requantize inside a model
])
def test_every_input_byte_matches_tflite_micro(x, y, tmp_path):
    t = {**_t("x", x[1], x[0]), **_t("y", y[1], y[0])}
    check_op(one_op_graph(Quantize("q", ("x",), "y"), t), (), tmp_path)


def test_uint8_in_and_out_around_a_model(tmp_path):
    """uint8 input → QUANTIZE → RELU → QUANTIZE → uint8 output: the C takes and gives uint8 bytes."""
    t = {**_t("x", QuantParams(0.02, 128), "uint8", (4, 4, 3)), **_t("a", QuantParams(0.02, 0), "int8", (4, 4, 3)),
         **_t("b", QuantParams(0.015, -128), "int8", (4, 4, 3)), **_t("y", QuantParams(0.015, 0), "uint8", (4, 4, 3))}
    ops = [Quantize("q_in", ("x",), "a"), ReLU("relu", ("a",), "b"), Quantize("q_out", ("b",), "y")]
    graph = QuantGraph("edges", t, ops, "x", "y")
    out = check_op(graph, (), tmp_path)["graph"]
    xq = np.arange(48, dtype=np.uint8).reshape(1, 4, 4, 3) * 5
    assert out.run(xq).dtype == np.uint8
    assert "const uint8_t *input, uint8_t *output" in (tmp_path / "model.h").read_text()


def test_golden_xor():
    # uint8 200 at (0.02, 128) is 1.44; int8 at (0.02, 0) is 72 = 200 - 128
    op = Quantize("q", ("x",), "y")
    t = {**_t("x", QuantParams(0.02, 128), "uint8", (2,)), **_t("y", QuantParams(0.02, 0), "int8", (2,))}
    got = op.evaluate(op.prepare(t), np.array([[200, 3]], np.uint8))
    assert got.tolist() == [[72, -125]]


def test_prepare_rejects():
    t = {**_t("x", QuantParams(0.02, 128), "uint8"), **_t("y", QuantParams(0.02, 128), "uint8")}
    with pytest.raises(ValueError, match="uint8 to uint8"):
        Quantize("q", ("x",), "y").prepare(t)
    with pytest.raises(ValueError, match="uint8 zero point"):
        TensorInfo("x", (1,), QuantParams(0.1, -3), "uint8")
    with pytest.raises(ValueError, match="one of int8, uint8"):
        tensors(x=((1,), QuantParams(0.1, 0)))["x"].__class__("x", (1,), QuantParams(0.1, 0), "float32")



@pytest.mark.parametrize("x,y", [
    (("int16", QuantParams(0.000625, 0)), ("int8", QuantParams(0.0592, -128))),        # an int16 audio input
    (("int16", QuantParams(1 / 65535, -32768)), ("int32", QuantParams(1 / 32767.5, 0))),  # SOFTMAX int16 -> int32
    (("int8", QuantParams(0.05, 4)), ("int16", QuantParams(0.0004, 0))),
    (("int16", QuantParams(0.001, 7)), ("int16", QuantParams(0.003, -9))),
])
def test_int16_edges_match_tflite_micro(x, y, tmp_path):
    t = {**_t("x", x[1], x[0], (300,)), **_t("y", y[1], y[0], (300,))}
    check_op(one_op_graph(Quantize("q", ("x",), "y"), t), (), tmp_path)


def test_golden_int16_to_int32():
    # (q + 32768) * s_x / s_y with s_y = 2 s_x: -32768 -> 0, 0 -> 16384, 32767 -> 32767.5 -> 32768 (half away)
    op = Quantize("q", ("x",), "y")
    t = {**_t("x", QuantParams(0.5, -32768), "int16", (3,)), **_t("y", QuantParams(1.0, 0), "int32", (3,))}
    got = op.evaluate(op.prepare(t), np.array([[-32768, 0, 32767]], np.int16))
    assert got.dtype == np.int32 and got.tolist() == [[0, 16384, 32768]]


def test_refuses_pairs_tflite_micro_does_not_run():
    t = {**_t("x", QuantParams(0.02, 128), "uint8"), **_t("y", QuantParams(0.02, 0), "int16")}
    with pytest.raises(ValueError, match="uint8 to int16"):
        Quantize("q", ("x",), "y").prepare(t)
