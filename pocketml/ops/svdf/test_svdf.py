"""SVDF: check_op (reference == C under sanitizers == TFLite Micro, a batch run as a time sequence
with the memory carried across samples), a golden worked by hand, the int32 wrap, the rejections."""

from __future__ import annotations

import numpy as np
import pytest

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.svdf import Svdf


def _svdf(rng, n_input, n_filter, n_memory, rank, state="int16", state_zp=0, bias_big=False, s_state=0.004, s_y=1.0):
    wt_type, hi = (np.int16, 20000) if state == "int16" else (np.int8, 127)
    n_unit = n_filter // rank
    s_wt = 0.002
    bias = rng.integers(-5000, 5000, n_unit).astype(np.int32)
    if bias_big:  # within 2^18 of the int32 limits, either sign: the sums wrap; M2 ~ 2^-24 keeps y moving
        bias = (rng.choice([-1, 1], n_unit) * rng.integers(2**31 - 2**18, 2**31 - 1, n_unit)).astype(np.int32)
        s_y = s_state * s_wt * 2**24
    op = Svdf("svdf", ("x",), "y", rng.integers(-127, 128, (n_filter, n_input)).astype(np.int8),
              rng.integers(-hi, hi + 1, (n_filter, n_memory)).astype(wt_type), bias, rank,
              0.01, s_wt, float(np.float32(s_state) * np.float32(s_wt)), s_state, state_zp)
    infos = tensors(x=((n_input,), QuantParams(0.05, -128)), y=((n_unit,), QuantParams(s_y, -20)))
    return one_op_graph(op, infos)


@pytest.mark.parametrize(("shape", "state", "state_zp", "bias_big", "s_state"), [
    ((12, 8, 4, 1), "int16", 0, False, 0.004),  # TFLite Micro's int8 x int16 kernel; M1's float32 trap (op.py)
    ((10, 12, 5, 3), "int16", 0, True, 0.004),  # rank 3; biases near 2^30: the unit sums wrap in int32
    ((9, 6, 3, 2), "int8", -50, False, 0.1),    # int8 memory with a zero point: the store wraps modulo 256
    ((7, 4, 6, 1), "int8", 37, True, 0.5),
])
def test_conformance(shape, state, state_zp, bias_big, s_state, tmp_path):
    graph = _svdf(np.random.default_rng(sum(shape)), *shape, state=state, state_zp=state_zp, bias_big=bias_big,
                  s_state=s_state)
    checked = check_op(graph, (), tmp_path, n=40)  # the DSP kernel too, under ASan/UBSan and the ACLE emulation
    assert checked["dsp"] in ([], ["svdf_dsp.h"])  # [] only without the ACLE emulation header
    out = checked["graph"].run(np.random.default_rng(0).integers(-128, 128, (40, shape[0]), dtype=np.int8))
    assert len(np.unique(out)) > (1 if bias_big else 10)  # the outputs move (wrapping flips signs: 2 values)


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


def test_c_reset_starts_a_new_sequence(tmp_path):
    """The C keeps the memory between invokes; <prefix>_reset() puts it back (a driver calling it)."""
    import subprocess

    from pocketml.deploy.c import build_host, emit_c
    from pocketml.deploy.verify.conformance import SANITIZE
    from pocketml.graph.planner import plan_memory

    graph = _svdf(np.random.default_rng(3), 6, 4, 3, 1, state="int8", state_zp=-50, s_state=0.5, s_y=0.5)
    src = emit_c(graph, plan_memory(graph))
    assert src.state_bytes == 12 and "void op_under_test_reset(void);" in src.files["model.h"]
    for name, text in src.files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "main.c").write_text("""#include <stdio.h>
#include "model.h"
int main(void) {
  int8_t a[OP_UNDER_TEST_INPUT_BYTES], b[OP_UNDER_TEST_INPUT_BYTES], y[3][OP_UNDER_TEST_OUTPUT_BYTES];
  for (int i = 0; i < OP_UNDER_TEST_INPUT_BYTES; ++i) { a[i] = (int8_t)(37 * i - 100); b[i] = (int8_t)(90 - 29 * i); }
  op_under_test_invoke(a, y[0]);
  op_under_test_invoke(b, y[1]);
  op_under_test_reset();
  op_under_test_invoke(a, y[2]);
  fwrite(y, 1, sizeof y, stdout);
  return 0;
}
""")
    out = subprocess.run([str(build_host(tmp_path, cflags=SANITIZE))], capture_output=True, check=True).stdout
    got = np.frombuffer(out, np.int8).reshape(3, -1)
    a = np.array([(37 * i - 100 + 128) % 256 - 128 for i in range(6)], np.int8)
    b = np.array([(90 - 29 * i + 128) % 256 - 128 for i in range(6)], np.int8)
    want = graph.run(np.stack([a, b]))
    assert np.array_equal(got[:2], want) and np.array_equal(got[2], want[0])
    assert not np.array_equal(want[1], graph.run(b[None])[0])  # b after a is not b alone: the memory counts


def test_tflite_round_trip_and_refusals():
    """Written (version 3, the memory a variable tensor) and read back: the same op; a file whose memory is
    not a variable tensor is refused by name."""
    from pocketml.deploy.tflite import write_tflite
    from pocketml.deploy.tflite.reader import read_tflite

    graph = _svdf(np.random.default_rng(5), 6, 4, 3, 2, state="int8", state_zp=-50, s_state=0.1)
    back = read_tflite(write_tflite(graph)).graph
    x = np.random.default_rng(6).integers(-128, 128, (12, 6), dtype=np.int8)
    assert [op.kind for op in back.ops] == ["svdf"] and np.array_equal(back.run(x), graph.run(x))
    assert back.ops[0].rank == 2 and back.ops[0].state_zero_point == -50

    import tflite  # the memory tensor's is_variable flag cleared: TFLite Micro's prepare refuses such a file
    data = bytearray(write_tflite(graph))
    sub = tflite.Model.GetRootAs(data, 0).Subgraphs(0)
    memory = sub.Tensors(int(sub.Operators(0).Inputs(4)))
    flag = memory._tab.Offset(14)  # Tensor.is_variable (field 5: vtable slot 4 + 2 * 5)
    assert flag and data[memory._tab.Pos + flag] == 1
    data[memory._tab.Pos + flag] = 0
    check = read_tflite(bytes(data), strict=False)
    assert check.graph is None and "variable tensor" in check.operators[0].problem


def _keyword_like(rng) -> QuantGraph:
    """keyword_scrambled in miniature: int16 audio features -> QUANTIZE -> SVDF (int16 memory) -> SVDF
    (int8 memory, rank 2) -> SOFTMAX to int16 -> QUANTIZE to an int32 output."""
    from pocketml.ops.quantize import Quantize
    from pocketml.ops.softmax import Softmax

    def svdf(name, x, y, n_in, n_filter, n_memory, rank, wt_type, s_state, z_state, s_x, s_y):
        s_wf, s_wt = 0.02, 0.003 if wt_type == np.int8 else 0.0002
        hi = 127 if wt_type == np.int8 else 8000
        return Svdf(name, (x,), y, rng.integers(-127, 128, (n_filter, n_in)).astype(np.int8),
                    rng.integers(-hi, hi + 1, (n_filter, n_memory)).astype(wt_type),
                    rng.integers(-3000, 3000, n_filter // rank).astype(np.int32), rank, s_wf, s_wt,
                    float(np.float32(s_state) * np.float32(s_wt)), s_state, z_state)

    t = {"raw": TensorInfo("raw", (8,), QuantParams(0.000625, 0), "int16"),
         "x": TensorInfo("x", (8,), QuantParams(0.06, -128)), "h": TensorInfo("h", (6,), QuantParams(0.2, -128)),
         "z": TensorInfo("z", (3,), QuantParams(0.1, 2)),
         "p": TensorInfo("p", (3,), QuantParams(1 / 65535, -32768), "int16"),
         "out": TensorInfo("out", (3,), QuantParams(1 / 32767.5, 0), "int32")}
    ops = [Quantize("q_in", ("raw",), "x"), svdf("svdf16", "x", "h", 8, 6, 4, 1, np.int16, 0.05, 0, 0.06, 0.2),
           svdf("svdf8", "h", "z", 6, 6, 5, 2, np.int8, 0.5, -20, 0.2, 0.1), Softmax("softmax", ("z",), "p"),
           Quantize("q_out", ("p",), "out")]
    return QuantGraph("kw", t, ops, "raw", "out")


def test_compile_an_int16_in_int32_out_svdf_model(tmp_path):
    """`compile` end to end: the C takes int16 and gives int32, keeps both memories, and equals TFLite
    Micro on the file and the Cortex-M4 build in QEMU, sample after sample (over 100 samples: the
    reference once ran a streaming model in chunks of 100, restarting the memory at sample 100)."""
    from pocketml.deploy.tflite import write_tflite
    from pocketml.pipeline.from_tflite import compile_tflite

    (tmp_path / "kw.tflite").write_bytes(write_tflite(_keyword_like(np.random.default_rng(7))))
    result = compile_tflite(tmp_path / "kw.tflite", "nano33ble", tmp_path / "out", samples=120, report=False)
    src = result.verify["source_tflm"]
    assert result.c_mismatches == 0 and result.verify["exact"] and src["mismatching_samples"] == 0
    assert src["distinct_outputs"] > 10 and src["inputs"].startswith("probe int16")
    assert result.cortexm is None or result.cortexm.qemu_mismatches in (0, None)
    header = (tmp_path / "out" / "c" / "model.h").read_text()
    assert "int kw_invoke(const int16_t *input, int32_t *output);" in header and "void kw_reset(void);" in header
    assert result.memory.state_bytes == 6 * 4 * 2 + 6 * 5


def _wrong_unit_bias(op, data, ctx, wide):
    """The DSP parameters with the memory zero point's fold left out of the unit sums."""
    from pocketml.ops.c import CCall
    from pocketml.ops.svdf.c import c_params

    feature_bias = data.input_offset * op.weights_feature.astype(np.int64).sum(axis=1)
    return CCall((*c_params(op, data, ctx).fields,
                  ("feature_bias", ctx.array("int32_t", "feature_bias", feature_bias.astype(np.int32))),
                  ("unit_bias", ctx.array("int32_t", "unit_bias", op.bias))))


@pytest.mark.parametrize("mutation", ["unit bias without z_s", "int16 odd tail dropped", "int8 tail dropped",
                                      "slide tail dropped"])
def test_a_wrong_dsp_kernel_is_caught(mutation, tmp_path, monkeypatch):
    """The checks above can fail: a DSP kernel with its memory zero point's fold left out, or with a
    dot product's or the memory slide's tail dropped, differs from the reference on the same inputs."""
    import dataclasses

    from pocketml.deploy.c import build_host, emit_c, run_host
    from pocketml.deploy.c.dsp import KernelTarget
    from pocketml.deploy.verify.conformance import ACLE, SANITIZE
    from pocketml.graph.planner import plan_memory
    from pocketml.ops import registry

    if not (ACLE / "arm_acle.h").is_file():
        pytest.skip("the ACLE emulation header is in a checkout only")
    shape, state, zp = {"unit bias without z_s": ((9, 6, 3, 2), "int8", -50),
                        "int16 odd tail dropped": ((10, 12, 5, 3), "int16", 0),
                        "int8 tail dropped": ((7, 4, 6, 1), "int8", 37),
                        "slide tail dropped": ((12, 8, 4, 1), "int16", 0)}[mutation]
    graph = _svdf(np.random.default_rng(sum(shape)), *shape, state=state, state_zp=zp,
                  s_state=0.004 if state == "int16" else 0.5)
    if mutation == "unit bias without z_s":
        monkeypatch.setitem(registry.SPECS, "svdf", dataclasses.replace(registry.SPECS["svdf"],
                                                                        dsp_params=_wrong_unit_bias))
    src = emit_c(graph, plan_memory(graph), kernels=KernelTarget(True, "speed"))
    files = dict(src.files)
    assert "svdf_dsp.h" in files
    tails = {"int16 odd tail dropped": "if (k < n) {", "int8 tail dropped": "for (; k < n; ++k) {\n    acc +=",
             "slide tail dropped": "for (; k < n; ++k) {\n    d[k] = s[k];"}
    if mutation in tails:  # the loop or test of the products after the last full word never runs
        assert tails[mutation] in files["svdf_dsp.h"]
        files["svdf_dsp.h"] = files["svdf_dsp.h"].replace(tails[mutation], tails[mutation].replace("< n", "< 0"))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    xq = np.random.default_rng(0).integers(-128, 128, (40, shape[0]), dtype=np.int8)
    got = run_host(build_host(tmp_path, cflags=f"{SANITIZE} -I{ACLE}"), xq, graph.output_bytes)
    assert not np.array_equal(got, graph.run_flat(xq))
