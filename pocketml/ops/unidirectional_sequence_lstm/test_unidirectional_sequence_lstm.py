"""UNIDIRECTIONAL_SEQUENCE_LSTM: check_op configurations (reference == C under ASan/UBSan == TFLite
Micro), the gates' table measured again from TFLite Micro, state kept between calls (C and TFLite
Micro without reset == the reference on the joined sequence), goldens, the .tflite round trip and
every rejection."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tflite.ActivationFunctionType import ActivationFunctionType

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.tflite import write_tflite
from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.tflite.runtimes import run_tflite
from pocketml.deploy.tflite.writer import tflite_spec
from pocketml.deploy.verify.conformance import SANITIZE, check_op, one_op_graph, tensors
from pocketml.errors import PocketMLError
from pocketml.graph import fixedpoint
from pocketml.graph.ir import PER_INFERENCE, STREAMING, QuantParams, TensorInfo
from pocketml.graph.layers import FloatLayer
from pocketml.graph.planner import plan_memory
from pocketml.ops.registry import kernel_source
from pocketml.ops.sigmoid16 import (
    SIGMOID_Q16,
    sigmoid16,
    table_from_tflite_micro,
    tanh16,
    tanh_scaling,
)
from pocketml.ops.tflite_write import options
from pocketml.ops.unidirectional_sequence_lstm import UnidirectionalSequenceLSTM
from pocketml.ops.unidirectional_sequence_lstm.capture import cell_scale_for, float_forward, from_float


def _gate_weights(rng, units: int, depth: int, real_std: float, x_scale: float):
    """[4, S, K] int8 weights whose products with a real input of std ``real_std`` are ~2 (gates that
    are neither dead nor always saturated), and their per-gate scales."""
    a = 2.0 * np.sqrt(3.0) / (np.sqrt(depth) * real_std)
    scales = (a / 127.0 * rng.uniform(0.5, 1.5, 4)).astype(np.float32)
    return rng.integers(-127, 128, (4, units, depth)).astype(np.int8), scales


X_QUANT, H_QUANT = QuantParams(0.05, 3), QuantParams(1 / 128, -4)


def make_lstm(steps=5, depth=7, units=6, x=X_QUANT, h=H_QUANT, cell_scale=2.0**-11, clip=0.0, seed=0,
              state=STREAMING):
    rng = np.random.default_rng(seed)
    wx, sx = _gate_weights(rng, units, depth, 40 * x.scale, x.scale)
    wh, sh = _gate_weights(rng, units, units, 0.5, h.scale)
    bias = np.round(rng.uniform(-1, 1, (4, units)) / (np.float32(x.scale) * sx[:, None])).astype(np.int32)
    op = UnidirectionalSequenceLSTM("lstm", ("x",), "y", wx, wh, bias, sx, sh, cell_scale, clip, state)
    return op, tensors(x=((steps, depth), x), y=((steps, units), h))


CONFIGS = {
    "cell-2^-11-clip-10": dict(clip=10.0),  # what TFLite's converter writes (the three example models)
    "cell-2^-12-no-clip": dict(cell_scale=2.0**-12),
    "cell-2^-15-tanh-shift": dict(cell_scale=2.0**-15, clip=0.5),  # tanh input shifted right (a negative power)
    "cell-2^-9-wide": dict(cell_scale=2.0**-9, x=QuantParams(0.1, -128)),
    "one-step-wide-16-units": dict(steps=1, depth=33, units=16, h=QuantParams(0.0078, 0)),
    "long-sequence": dict(steps=20, depth=3, units=5, seed=3),
    "per-inference": dict(steps=6, clip=10.0, state=PER_INFERENCE),  # C resets itself, TFLite Micro is reset
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    op, t = make_lstm(**CONFIGS[config])
    out = check_op(one_op_graph(op, t), (), tmp_path)
    assert out["dsp"] in ([], ["unidirectional_sequence_lstm_dsp.h"])  # [] only without the ACLE emulation header
    ref = out["graph"].run_flat(np.random.default_rng(0).integers(-128, 128, (64, *t["x"].shape), dtype=np.int8))
    assert len({row.tobytes() for row in ref}) > 32  # the inputs reach many different outputs


def test_the_table_is_tflite_micros():
    assert np.array_equal(table_from_tflite_micro(), SIGMOID_Q16)


def test_gate_goldens():
    # sigmoid(0) = 1/2, tanh(0) = 0; odd symmetry; saturation at the table's end
    assert sigmoid16(np.array([0]))[0] == 16384 and tanh16(np.array([0]), 3, 0)[0] == 0
    x = np.arange(-32768, 32768, 97)
    s = sigmoid16(x).astype(int)
    assert np.all(np.diff(s) >= 0) and np.all(np.abs(s + sigmoid16(-x) - 32768) <= 1)
    th = tanh16(x, 3, 0).astype(int)
    assert np.all(np.diff(th) >= 0) and np.all(np.abs(th + tanh16(-x, 3, 0)) <= 1)
    # close to the real functions (Q3.12 in, Q0.15 out)
    assert np.abs(s / 32768 - 1 / (1 + np.exp(-x / 4096))).max() < 2e-4
    assert np.abs(th / 32768 - np.tanh(x / 4096)).max() < 5e-4
    assert tanh_scaling(-12) == (3, 0) and tanh_scaling(-11) == (6, 0) and tanh_scaling(-15) == (3, 3)


def test_close_to_float_lstm():
    """The integer LSTM tracks nn.LSTM's arithmetic (float_forward) within a few hidden-state steps."""
    op, t = make_lstm(steps=8, depth=5, units=4, clip=0.0)
    data = op.prepare(t)
    x = np.random.default_rng(1).integers(-60, 60, (16, 8, 5)).astype(np.int8)
    got = t["y"].quant.dequantize(op.run_sequence(data, x))  # each row from the zero state, as nn.LSTM
    bias = op.bias * (np.float32(0.05) * op.input_weight_scale)[:, None]
    layer = FloatLayer("unidirectional_sequence_lstm", "l", "l", (8, 4), bias=bias,
                       attrs={"input_weights": op.input_weights * op.input_weight_scale[:, None, None],
                              "recurrent_weights": op.recurrent_weights * op.recurrent_weight_scale[:, None, None]})
    want = float_forward(layer, [torch.as_tensor(t["x"].quant.dequantize(x))], None, None).numpy()
    assert np.abs(got - want).max() < 4 * t["y"].quant.scale


def test_state_is_kept_between_calls(tmp_path):
    """Without reset, C and TFLite Micro continue the sequence: three calls of 4 steps == 12 steps at once."""
    from tflite_micro.python.tflite_micro import runtime

    op, t = make_lstm(steps=4, depth=6, units=5, clip=10.0)
    graph = one_op_graph(op, t)
    xs = np.random.default_rng(2).integers(-128, 128, (3, 4, 6), dtype=np.int8)
    joined = one_op_graph(UnidirectionalSequenceLSTM(**{**op.__dict__}), tensors(
        x=((12, 6), t["x"].quant), y=((12, 5), t["y"].quant)))
    want = joined.run(xs.reshape(1, 12, 6)).reshape(3, 4, 5)
    src = emit_c(graph, plan_memory(graph))
    assert "void op_under_test_reset(void);" in src.files["model.h"]
    for name, text in src.files.items():
        (tmp_path / name).write_text(text.replace("    op_under_test_reset();", "") if name == "main.c" else text)
    c_out = run_host(build_host(tmp_path, cflags=SANITIZE), xs, graph.output_bytes).reshape(3, 4, 5)
    assert np.array_equal(c_out, want)
    interp = runtime.Interpreter.from_bytes(write_tflite(graph), arena_size=1 << 16)
    tflm = []
    for x in xs:
        interp.set_input(x[None], 0)
        interp.invoke()
        tflm.append(interp.get_output(0)[0].copy())
    assert np.array_equal(np.stack(tflm), want)
    assert not np.array_equal(want[1], graph.run(xs[1:2])[0])  # the carried state changes the answer


def test_per_inference_state_resets_at_every_invoke(tmp_path):
    """A per-inference LSTM: two samples in a row give what each gives alone, in the reference, the C
    (no reset call: the kernel resets at each invoke) and TFLite Micro reset between samples."""
    op, t = make_lstm(steps=4, depth=6, units=5, clip=10.0, state=PER_INFERENCE)
    graph = one_op_graph(op, t)
    assert graph.state_semantics() == PER_INFERENCE
    xs = np.random.default_rng(2).integers(-128, 128, (3, 4, 6), dtype=np.int8)
    alone = np.concatenate([graph.run(x[None]) for x in xs])
    assert np.array_equal(graph.run(xs), alone)
    streaming = one_op_graph(dataclasses.replace(op, state=STREAMING), t)
    assert not np.array_equal(streaming.run(xs)[1:], alone[1:])  # the carried state would change the answer
    src = emit_c(graph, plan_memory(graph))
    assert "every invoke starts from" in src.files["model.h"]
    for name, text in src.files.items():
        (tmp_path / name).write_text(text)
    c_out = run_host(build_host(tmp_path, cflags=SANITIZE), xs, graph.output_bytes).reshape(alone.shape)
    assert np.array_equal(c_out, alone)
    path = tmp_path / "lstm.tflite"
    path.write_bytes(write_tflite(graph))
    for reset in (True, False):
        got = run_tflite(path, xs, "tflm", reset_state=reset).outputs[0].reshape(alone.shape)
        assert np.array_equal(got, alone) == reset


SCALE_HARNESS = r"""
#include <stdio.h>
#include "unidirectional_sequence_lstm_dsp.h"
int main(void) {
  int32_t m[1], x;
  int8_t l[1], r[1];
  unsigned long differ = 0, n = 0;
  while (scanf("%d %d %hhd %hhd", &x, &m[0], &l[0], &r[0]) == 4) {
    differ += pocketml_lstm_scale(m, l, r, 0, x) != pocketml_unidirectional_sequence_lstm_dsp_scale(m, l, r, 0, x);
    n++;
  }
  printf("%lu %lu\n", differ, n);
  return 0;
}
"""


def test_the_dsp_requantization_is_tflites(tmp_path):
    """The DSP kernel's one-SMMULR MultiplyByQuantizedMultiplier (and its fallback) equals the
    portable one on products of every size, the multipliers TFLite's quantizer makes and every shift."""
    import subprocess
    from importlib import resources

    from pocketml.deploy.verify.conformance import ACLE

    if not (ACLE / "arm_acle.h").is_file():
        pytest.skip("the ACLE emulation header is in a checkout only")
    for name in ("unidirectional_sequence_lstm.h", "unidirectional_sequence_lstm_dsp.h"):
        (tmp_path / name).write_text(kernel_source("unidirectional_sequence_lstm", name).read_text())
    runtime = resources.files("pocketml.deploy.c") / "runtime"
    for name in ("pocketml_dsp.h", "pocketml_fixedpoint.h", "pocketml_sigmoid16.h"):
        (tmp_path / name).write_text((runtime / name).read_text())
    (tmp_path / "main.c").write_text(SCALE_HARNESS)
    exe = tmp_path / "scale"
    subprocess.run(["cc", *SANITIZE.split(), f"-I{ACLE}", f"-I{tmp_path}", "-o", str(exe), str(tmp_path / "main.c")],
                   check=True)
    rng = np.random.default_rng(0)
    n = 20000
    mult, left, right = fixedpoint.quantize_multipliers(np.exp(rng.uniform(np.log(1e-6), np.log(30), n)))
    bound = 2.0 ** (31 - left.astype(np.float64))  # x << left stays inside int32, as the converter checks
    x = np.round(rng.uniform(-1, 1, n) ** 5 * (bound - 1)).astype(np.int64)
    x[:8] = [0, 1, -1, 2**29, -(2**29), 2**30 - 1, -(2**30), 2**30]  # both sides of the fast path's edge
    left[:8], right[:8] = 0, 1 + np.arange(8) % 4
    lines = "\n".join(f"{a} {b} {c} {d}" for a, b, c, d in zip(x, mult, left, right, strict=True))
    out = subprocess.run([str(exe)], input=lines, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", str(n)]


def test_tflite_round_trip():
    op, t = make_lstm(clip=10.0)
    back = read_tflite(write_tflite(one_op_graph(op, t))).graph.ops[0]
    assert isinstance(back, UnidirectionalSequenceLSTM)
    for field in ("input_weights", "recurrent_weights", "bias", "input_weight_scale", "recurrent_weight_scale"):
        assert np.array_equal(getattr(back, field), getattr(op, field)), field
    assert (back.cell_scale, back.cell_clip) == (op.cell_scale, op.cell_clip)


def test_from_float_quantizes_per_gate():
    rng = np.random.default_rng(0)
    layer = FloatLayer("unidirectional_sequence_lstm", "l", "l", (6, 3), bias=rng.normal(size=(4, 3)),
                       attrs={"input_weights": rng.normal(size=(4, 3, 2)),
                              "recurrent_weights": rng.normal(size=(4, 3, 3))})
    x, y = TensorInfo("x", (6, 2), QuantParams(0.02, 0)), TensorInfo("y", (6, 3), QuantParams(1 / 128, 0))
    op = from_float(layer, [x], y)
    assert op.input_weights.shape == (4, 3, 2) and np.abs(op.input_weights).max() == 127
    assert op.cell_scale == cell_scale_for(6) == 2.0**-12  # |c| <= 6 < 8 = 2^3: Q3.12
    op.prepare({"x": x, "y": y})


@pytest.mark.parametrize("change,needle", [
    (dict(cell_scale=0.001), "power of two"),
    (dict(bias=np.zeros((3, 6), np.int32)), "are not"),
])
def test_prepare_rejects(change, needle):
    op, t = make_lstm()
    with pytest.raises(ValueError, match=needle):
        UnidirectionalSequenceLSTM(**{**op.__dict__, **change}).prepare(t)


def test_prepare_rejects_a_wrong_output_shape():
    op, t = make_lstm()
    t["y"] = TensorInfo("y", (5, 7), t["y"].quant)
    with pytest.raises(ValueError, match="do not match"):
        op.prepare(t)


def _file(change) -> bytes:
    """An LSTM's .tflite with one thing changed by ``change(spec, lstm_operator_inputs)``."""
    op, t = make_lstm(clip=10.0)
    spec = tflite_spec(one_op_graph(op, t))
    change(spec, list(spec.operators[0].inputs))
    return spec.serialise()


def _set_inputs(spec, ins):
    spec.operators[0] = dataclasses.replace(spec.operators[0], inputs=tuple(ins))


def _peephole(spec, ins):
    ins[9] = ins[1]
    _set_inputs(spec, ins)


def _int8_cell(spec, ins):
    spec.tensors[ins[19]] = dataclasses.replace(spec.tensors[ins[19]], dtype=np.dtype(np.int8))


def _not_variable(spec, ins):
    spec.tensors[ins[18]] = dataclasses.replace(spec.tensors[ins[18]], variable=False)


def _cell_scale(spec, ins):
    cell = spec.tensors[ins[19]]
    spec.tensors[ins[19]] = dataclasses.replace(cell, quant=dataclasses.replace(cell.quant, scales=(0.001,)))


def _time_major(spec, ins):
    spec.operators[0] = dataclasses.replace(spec.operators[0], write_options=options(
        "UnidirectionalSequenceLSTMOptions", FusedActivationFunction=ActivationFunctionType.TANH, TimeMajor=True))


def _relu_cell(spec, ins):
    spec.operators[0] = dataclasses.replace(spec.operators[0], write_options=options(
        "UnidirectionalSequenceLSTMOptions", FusedActivationFunction=ActivationFunctionType.RELU))


def _no_input_gate(spec, ins):
    ins[1] = -1
    _set_inputs(spec, ins)


@pytest.mark.parametrize("change,needle", [
    (_peephole, "peephole"), (_int8_cell, "cell state is INT8"), (_not_variable, "not a variable"),
    (_cell_scale, "power of two"), (_time_major, "time-major"), (_relu_cell, "cell activation RELU"),
    (_no_input_gate, "CIFG"),
])
def test_reader_refuses(change, needle):
    with pytest.raises(PocketMLError, match=needle):
        read_tflite(_file(change))
