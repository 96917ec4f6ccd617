"""SVDF: check_op (reference == C under sanitizers == TFLite Micro, a batch run as a time sequence
with the memory carried across samples), a golden worked by hand, the int32 wrap, the rejections."""

from __future__ import annotations

import numpy as np
import pytest

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.svdf import Svdf


def _svdf(rng, n_input, n_filter, n_memory, rank, state="int16", state_zp=0, bias_big=False, s_state=0.004, s_y=1.0):
    wt_type, hi = (np.int16, 20000) if state == "int16" else (np.int8, 127)
    n_unit = n_filter // rank
    s_wt = 0.002
    bias = rng.integers(-2**30 if bias_big else -5000, 2**30 if bias_big else 5000, n_unit).astype(np.int32)
    op = Svdf("svdf", ("x",), "y", rng.integers(-127, 128, (n_filter, n_input)).astype(np.int8),
              rng.integers(-hi, hi + 1, (n_filter, n_memory)).astype(wt_type), bias, rank,
              0.01, s_wt, float(np.float32(s_state) * np.float32(s_wt)), s_state, state_zp)
    infos = tensors(x=((n_input,), QuantParams(0.05, -128)), y=((n_unit,), QuantParams(s_y, -20)))
    return one_op_graph(op, infos)


@pytest.mark.parametrize(("shape", "state", "state_zp", "bias_big"), [
    ((12, 8, 4, 1), "int16", 0, False),    # TFLite Micro's int8 x int16 kernel
    ((10, 12, 5, 3), "int16", 0, True),     # rank 3; biases near 2^30: the unit sums wrap in int32
    ((9, 6, 3, 2), "int8", -50, False),     # int8 memory with a zero point: the store wraps modulo 256
    ((7, 4, 6, 1), "int8", 37, True),
])
def test_conformance(shape, state, state_zp, bias_big, tmp_path):
    graph = _svdf(np.random.default_rng(sum(shape)), *shape, state=state, state_zp=state_zp, bias_big=bias_big)
    check_op(graph, (), tmp_path, n=40)


def test_memory_persists_and_order_matters():
    graph = _svdf(np.random.default_rng(1), 6, 4, 3, 1)
    x = np.random.default_rng(2).integers(-128, 128, (5, 6)).astype(np.int8)
    seq = graph.run(x)
    assert not np.array_equal(seq[1:], np.stack([graph.run(x[i:i + 1])[0] for i in range(1, 5)]))
    assert np.array_equal(graph.run(x[:3]), seq[:3])  # a prefix of the sequence gives the same outputs


def test_golden_one_filter():
    # I=2, F=1, M=2, rank 1, every scale chosen so M1 = 1/2 and M2 = 1/4; zero points 0 but z_x = 1.
    # step 1: x=(3, 5) -> dot = 1*(3-1) + 2*(5-1) = 10 -> new 5; memory (0, 5); t = 3*0 + 4*5 = 20;
    #         acc = 20 + bias 4 = 24 -> 6.  step 2: x=(1, 1) -> 0; memory (5, 0); t = 15; 19 -> 4.75 -> 5
    op = Svdf("s", ("x",), "y", np.array([[1, 2]], np.int8), np.array([[3, 4]], np.int16), np.array([4], np.int32),
              1, 0.5, 0.25, 0.25, 1.0, 0)
    infos = tensors(x=((2,), QuantParams(1.0, 1)), y=((1,), QuantParams(1.0, 0)))
    out = op.evaluate(op.prepare(infos), np.array([[3, 5], [1, 1]], np.int8))
    assert out.ravel().tolist() == [6, 5]


def test_rejections():
    rng = np.random.default_rng(0)
    infos = tensors(x=((4,), QuantParams(0.1, 0)), y=((2,), QuantParams(0.1, 0)))
    wf, wt = rng.integers(-9, 9, (4, 4)).astype(np.int8), rng.integers(-9, 9, (4, 3)).astype(np.int16)
    with pytest.raises(ValueError, match="rank"):
        Svdf("s", ("x",), "y", wf, wt, np.zeros(2, np.int32), 3, 0.1, 0.1, 0.01, 0.1, 0).prepare(infos)
    with pytest.raises(ValueError, match="bias scale"):
        Svdf("s", ("x",), "y", wf, wt, np.zeros(2, np.int32), 2, 0.1, 0.1, 0.5, 0.1, 0).prepare(infos)
    with pytest.raises(ValueError, match="do not match"):
        Svdf("s", ("x",), "y", wf, wt, np.zeros(4, np.int32), 1, 0.1, 0.1, 0.01, 0.1, 0).prepare(infos)
