"""``pocketml compile``: .tflite files (written here by pocketml's own writer, patched where the
converter emits what the writer does not) read into the int8 graph, bit-exact with TFLite Micro
running the same file, compiled to C exactly as ``shrink`` does, and refused up front when they
hold something the project cannot run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite_models import (
    GraphBuilder,
    append_operator,
    conv_activation,
    float_edges,
    per_tensor_weights,
    spec_of,
    squeeze_reshapes,
)
from typer.testing import CliRunner

from pocketml import PocketMLError, compile
from pocketml.cli import app
from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.verify import verify
from pocketml.pipeline.from_tflite import check_tflite_model, random_inputs, run_source_in_tflm


def windows_model():
    """SAME with the odd pixel at the bottom/right, VALID, strides, dilation, depth multiplier,
    RELU/RELU6/NONE, per-tensor weights, max/avg pools, RESHAPE, FC, softmax beta 0.5."""
    b = GraphBuilder("windows", (12, 11, 3))
    x = b.conv(b.input, 8, k=3, stride=2, mode="same", act="relu6")  # 12x11 -> 6x6: pads (0,1) top, (1,1) bottom
    x = b.depthwise(x, multiplier=2, k=3, mode="same", dilation=2, act="relu")
    x = b.conv(x, 8, k=2, mode="same", per_tensor=True)  # k=2 SAME: bottom/right only
    x = b.pool(x, "maxpool", k=3, stride=2, mode="same")  # 6 -> 3
    x = b.pool(x, "avgpool", k=2, stride=2, mode="same")  # 3 -> 2, odd pixel bottom/right
    x = b.pool(x, "avgpool", k=2, stride=1, mode="valid")  # 2 -> 1
    x = b.reshape(x, (8,))
    x = b.fc(x, 6, act="relu")
    return b.graph(b.softmax(x, beta=0.5))


def branches_model():
    """ADD (residual, fused RELU), CONCATENATION, PAD, standalone RELU/RELU6, MEAN, VALID stride 2,
    FC straight on a [1, 1, 1, C] map (TFLite flattens), per-channel weights."""
    b = GraphBuilder("branches", (9, 9, 4), seed=1)
    x = b.conv(b.input, 6, k=3, stride=2, mode="valid")  # 9 -> 4
    y = b.conv(x, 6, k=3, mode="same", act="relu")
    z = b.add(x, y, act="relu")
    a = b.conv(z, 4, k=1, mode="valid", quant=b.tensors[z].quant)
    c = b.conv(z, 4, k=3, mode="same", quant=b.tensors[z].quant)
    x = b.concat([a, c])
    x = b.relu(b.pad(x, ((1, 0), (0, 2))))
    x = b.relu(x, six=True)
    x = b.mean(x, keep_dims=True)
    x = b.reshape(x, (8,))
    return b.graph(b.fc(x, 5))


VARIANTS = {  # name: (model, patches of the written spec)
    "windows-int8": (windows_model, {"per_tensor": "conv2"}),
    "windows-float-edges-squeeze": (windows_model, {"per_tensor": "conv2", "float": (True, True), "squeeze": True}),
    "branches-int8": (branches_model, {}),
    "branches-float-in": (branches_model, {"float": (True, False)}),
    "branches-float-out": (branches_model, {"float": (False, True)}),
}


def _write(name, tmp_path):
    build, patches = VARIANTS[name]
    graph = build()
    spec = spec_of(graph)
    if patches.get("squeeze"):
        assert squeeze_reshapes(spec) == 1
    if "per_tensor" in patches:
        per_tensor_weights(spec, patches["per_tensor"])
    if "float" in patches:
        float_edges(spec, graph, *patches["float"])
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(spec.serialise())
    return graph, path


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reader_is_bit_exact_with_tflite_micro_on_the_same_file(variant, tmp_path):
    graph, path = _write(variant, tmp_path)
    imp = read_tflite(path)
    x = random_inputs(imp, 60, seed=3)
    ref = imp.graph.run(x).reshape(len(x), -1)
    assert np.array_equal(ref, graph.run(x).reshape(len(x), -1))  # the graph we wrote, read back
    tflm = run_source_in_tflm(path, imp, x)
    assert tflm.shape == ref.shape and np.array_equal(tflm, ref)
    assert len(np.unique(ref)) > 3  # not a saturated constant output
    patches = VARIANTS[variant][1]
    assert imp.input.dtype == ("float32" if patches.get("float", (0, 0))[0] else "int8")
    assert imp.output.dtype == ("float32" if patches.get("float", (0, 0))[1] else "int8")


def test_reader_keeps_what_the_converter_wrote(tmp_path):
    _, path = _write("windows-float-edges-squeeze", tmp_path)
    imp = read_tflite(path)
    ops = {op.name: op for op in imp.graph.ops}
    names = [c.op for c in imp.operators]
    assert names[0] == "QUANTIZE" and names[-1] == "DEQUANTIZE" and "SQUEEZE" in names
    conv0 = ops["op1_conv_2d"]
    assert conv0.stride == (2, 2) and conv0.padding == (0, 1) and conv0.padding_end == (1, 1)
    assert conv0.activation == "relu6"
    dw = ops["op2_depthwise_conv_2d"]
    assert dw.depth_multiplier == 2 and dw.dilation == (2, 2) and dw.activation == "relu"
    assert ops["op3_conv_2d"].padding == (0, 0) and ops["op3_conv_2d"].padding_end == (1, 1)
    assert len(set(ops["op3_conv_2d"].weight_scale.tolist())) == 1  # per-tensor, broadcast per channel
    assert ops["op9_softmax"].beta == 0.5
    assert ops["op5_average_pool_2d"].padding_end == (1, 1)


SHRINK_KEYS = {"device", "device_name", "model", "n_test", "accuracy", "size_bytes", "arena_bytes", "ram_bytes",
               "flash_bytes", "flash_method", "c_mismatches", "fits", "fit_reason", "input", "output", "macs",
               "estimate", "layers", "memory", "stages", "files", "cortexm", "energy", "verify"}


def test_compile_writes_shrinks_layout_and_is_verified(tmp_path):
    _, path = _write("windows-float-edges-squeeze", tmp_path)
    out = tmp_path / "out"
    result = compile(path, "nano33ble", out, samples=40)
    doc = json.loads((out / "result.json").read_text())
    assert SHRINK_KEYS <= set(doc)  # the same result.json keys as shrink (pocketml/result.py to_json)
    assert doc["accuracy"] == {"float": None, "int8": None, "c": None}
    assert doc["c_mismatches"] == 0 and result.c_mismatches == 0
    assert doc["verify"]["exact"] is True
    assert doc["verify"]["source_tflm"]["samples"] == 40
    assert doc["verify"]["source_tflm"]["mismatching_samples"] == 0
    assert doc["verify"]["source_tflm"]["inputs"].startswith("probe int8")
    assert 1 < doc["verify"]["source_tflm"]["distinct_outputs"] <= 40
    assert doc["verify"]["source_tflm"]["weak_evidence"] is (doc["verify"]["source_tflm"]["distinct_outputs"] < 4)
    assert doc["verify"]["runtimes"]["tflm"]["mismatching_samples"] == 0
    assert doc["verify"]["arena"]["tflm_source_bytes"] > 0  # TFLite Micro on the user's file, not the rewrite
    if doc["cortexm"] is not None:  # the arm-none-eabi toolchain is installed by `make test`
        assert doc["cortexm"]["qemu_mismatches"] == 0
    for f in ("report.html", "c/model.c", "c/model.h", "model.tflite", "source.tflite", "verify/graph.npz"):
        assert (out / f).is_file(), f
    assert (out / "source.tflite").read_bytes() == path.read_bytes()
    assert [s["name"] for s in doc["stages"]][:2] == ["read-tflite", "source-tflm"]
    # verify OUT --layers works on a compiled model: no layer differs anywhere
    report = verify(out, "reference,c,tflm", layers=True, probe_arena=False, latency=False)
    assert report.exact
    assert report.layers and all(p.first is None for p in report.layers)
    assert report.source_tflm_arena_bytes == doc["verify"]["arena"]["tflm_source_bytes"]
    assert report.distinct_outputs == doc["verify"]["source_tflm"]["distinct_outputs"]  # the same inputs, kept
    assert len(report.layers[0].per_layer) == len(result.layers)


@pytest.mark.parametrize("patch,expect", [
    ("elu", ["operator 12 ELU", "no pocketml kernel"]),
    ("relu_n1_to_1", ["operator 0 CONV_2D", "FusedActivationFunction=RELU_N1_TO_1", "RELU_N1_TO_1"]),
    ("same_output_twice", ["model outputs 0 and 1 are the same int8 data"]),
])
def test_unsupported_is_refused_before_anything_is_written(patch, expect, tmp_path):
    graph = branches_model()
    spec = spec_of(graph, [graph.output, graph.output] if patch == "same_output_twice" else None)
    if patch == "elu":
        append_operator(spec, Op.ELU)
    elif patch == "relu_n1_to_1":
        conv_activation(spec, 0, ActivationFunctionType.RELU_N1_TO_1, stride=(2, 2))
    path = tmp_path / "bad.tflite"
    path.write_bytes(spec.serialise())
    out = tmp_path / "out"
    with pytest.raises(PocketMLError) as err:
        compile(path, "nano33ble", out)
    for text in expect:
        assert text in err.value.problem
    # names the blockers, not the whole op list
    assert "compile --check" in err.value.fix and len(str(err.value)) < 2000
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    check = check_tflite_model(path)
    assert not check.compiles and [c for c in check.operators if not c.ok]


def test_cli_check_reports_per_operator_and_exits_4_when_it_would_not_compile(tmp_path):
    graph = branches_model()
    good = tmp_path / "good.tflite"
    good.write_bytes(spec_of(graph).serialise())
    spec = spec_of(graph)
    append_operator(spec, Op.GELU)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(spec.serialise())
    runner = CliRunner()
    ok = runner.invoke(app, ["compile", str(good), "--check", "--json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.output)
    assert doc["compiles"] and doc["operators"][0]["op"] == "CONV_2D"
    assert doc["operators"][0]["options"]["stride"] == [2, 2]
    no = runner.invoke(app, ["compile", str(bad), "--check"])
    assert no.exit_code == 4
    assert "GELU" in no.output and "no pocketml kernel" in no.output
    assert not list(tmp_path.glob("*-nano33ble"))


@pytest.mark.parametrize("damage", ["truncate", "not-tflite"])
def test_corrupt_file_is_a_clear_error(damage, tmp_path):
    graph = branches_model()
    data = spec_of(graph).serialise()
    path = tmp_path / "bad.tflite"
    path.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"hello world, not a model")
    with pytest.raises(PocketMLError) as err:
        read_tflite(path)
    assert "bad" in err.value.problem


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PocketMLError, match="cannot read"):
        compile(tmp_path / "nope.tflite", "nano33ble", tmp_path / "out")


def test_a_tflite_with_a_uint8_input_compiles_and_verifies(tmp_path):
    """The most common blocker of third-party models (issue 21): uint8 input → QUANTIZE → int8 model."""
    from pocketml.deploy.tflite import write_tflite
    from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
    from pocketml.ops.quantize import Quantize

    b = GraphBuilder("u8", (6, 6, 3), seed=1)
    g = b.graph(b.softmax(b.fc(b.reshape(b.conv(b.input, 2, k=3, mode="same", act="relu"), (72,)), 4)))
    t = dict(g.tensors)
    q = g.input_info.quant
    t["raw"] = TensorInfo("raw", (6, 6, 3), QuantParams(q.scale, q.zero_point + 128), "uint8")
    graph = QuantGraph("u8", t, [Quantize("to_int8", ("raw",), "input"), *g.ops], "raw", g.outputs)
    (tmp_path / "u8.tflite").write_bytes(write_tflite(graph))
    result = compile(tmp_path / "u8.tflite", "nano33ble", tmp_path / "out", samples=20, report=False)
    assert result.c_mismatches == 0 and result.verify["exact"]
    assert result.verify["source_tflm"]["inputs"].startswith("probe uint8")
    assert verify(tmp_path / "out", "reference,c,tflm", probe_arena=False, latency=False).exact


def test_a_float_model_gets_one_quantize_it_first_error(tmp_path):
    """Issue 21, 4d: a float32 .tflite (float weights and activations) is one clear error, not one per op."""
    from pocketml.formats.tflite import OperatorSpec as OpSpec
    from pocketml.formats.tflite import TensorSpec, TFLiteModelSpec

    spec = TFLiteModelSpec("float model")
    f32 = np.dtype(np.float32)
    x = spec.add_tensor(TensorSpec("x", (1, 6, 6, 3), f32, None))
    w = spec.add_constant("w", np.ones((4, 3, 3, 3), np.float32))
    b = spec.add_constant("b", np.zeros(4, np.float32))
    h = spec.add_tensor(TensorSpec("h", (1, 4, 4, 4), f32, None))
    y = spec.add_tensor(TensorSpec("y", (1, 4, 4, 4), f32, None))
    spec.add_operator(OpSpec(Op.CONV_2D, 1, (x, w, b), (h,)))
    spec.add_operator(OpSpec(Op.RELU, 1, (h,), (y,)))
    spec.inputs, spec.outputs = [x], [y]
    path = tmp_path / "float.tflite"
    path.write_bytes(spec.serialise())
    with pytest.raises(PocketMLError) as err:
        compile(path, "nano33ble", tmp_path / "out")
    assert "float32 model: 2 of 2 operators" in err.value.problem and "operator 0" not in err.value.problem
    assert "quantize it to int8 first" in err.value.fix
    check = check_tflite_model(path)
    assert not check.compiles and any("float32 model" in (c.problem or "") for c in check.operators)


def test_shape_arithmetic_is_folded_at_compile_time(tmp_path):
    """SHAPE → STRIDED_SLICE → PACK feeding a RESHAPE's shape (what converters leave): computed once,
    no op emitted, and the model compiles byte-exact with TFLite Micro running the file."""
    from dataclasses import replace

    from tflite.BuiltinOptions import BuiltinOptions as Opt

    from pocketml.formats.tflite import OperatorSpec as OpSpec
    from pocketml.formats.tflite import TensorSpec
    from pocketml.ops.tflite_write import options as write_options

    b = GraphBuilder("folded", (4, 4, 2), seed=2)
    flat = b.reshape(b.conv(b.input, 3, k=3, mode="same", act="relu"), (48,))
    graph = b.graph(b.fc(flat, 4))
    spec = spec_of(graph)
    i32 = np.dtype(np.int32)
    conv_out = spec.index(graph.ops[0].output)
    shape = spec.add_tensor(TensorSpec("shape", (4,), i32, None))
    batch = spec.add_tensor(TensorSpec("batch", (), i32, None))
    packed = spec.add_tensor(TensorSpec("packed", (2,), i32, None))
    consts = [spec.add_constant(f"c{k}", np.array(v, np.int32)) for k, v in enumerate(([0], [1], [1]))]
    consts.append(spec.add_tensor(TensorSpec("minus_one", (), i32, None, np.array(-1, np.int32).tobytes())))
    reshape_at = next(k for k, op in enumerate(spec.operators) if op.builtin_code == Op.RESHAPE)
    spec.operators[reshape_at:reshape_at] = [
        OpSpec(Op.SHAPE, 1, (conv_out,), (shape,)),
        OpSpec(Op.STRIDED_SLICE, 1, (shape, consts[0], consts[1], consts[2]), (batch,), Opt.StridedSliceOptions,
               write_options("StridedSliceOptions", ShrinkAxisMask=1)),
        OpSpec(Op.PACK, 1, (batch, consts[3]), (packed,), Opt.PackOptions,
               write_options("PackOptions", ValuesCount=2, Axis=0)),
    ]
    reshape = spec.operators[reshape_at + 3]
    spec.operators[reshape_at + 3] = replace(reshape, inputs=(reshape.inputs[0], packed))
    path = tmp_path / "folded.tflite"
    path.write_bytes(spec.serialise())
    check = check_tflite_model(path)
    assert check.compiles, [c.describe() for c in check.operators if not c.ok]
    assert [c.becomes for c in check.operators if c.op in ("SHAPE", "STRIDED_SLICE", "PACK")] == \
        ["(constant: folded)"] * 3
    result = compile(path, "nano33ble", tmp_path / "out", samples=20, report=False)
    assert result.verify["exact"] and result.c_mismatches == 0


def test_a_tflite_with_two_inputs_compiles_and_verifies(tmp_path):
    """Two model inputs (an image and a per-channel gate): the C takes both, packed or one by one;
    TFLite Micro runs the file with both; verify re-checks the OUT folder."""
    from pocketml.deploy.tflite import write_tflite
    from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
    from pocketml.ops.add import Add
    from pocketml.ops.mul import Mul

    t = {n: TensorInfo(n, s, q) for n, s, q in (
        ("image", (4, 5, 3), QuantParams(0.05, 3)), ("gate", (3,), QuantParams(0.01, -20)),
        ("gated", (4, 5, 3), QuantParams(0.02, 1)), ("sum", (4, 5, 3), QuantParams(0.06, -4)))}
    ops = [Mul("gate_it", ("image", "gate"), "gated"), Add("join", ("gated", "image"), "sum", "relu")]
    graph = QuantGraph("two_in", t, ops, ("image", "gate"), "sum")
    path = tmp_path / "two_in.tflite"
    path.write_bytes(write_tflite(graph))
    check = check_tflite_model(path)
    assert check.compiles, [c.describe() for c in check.operators if not c.ok]
    result = compile(path, "nano33ble", tmp_path / "out", samples=20, report=False)
    assert result.verify["exact"] and result.c_mismatches == 0
    header = (tmp_path / "out" / "c" / "model.h").read_text()
    assert "two_in_invoke_inputs(const int8_t *input0, const int8_t *input1, int8_t *output)" in header
    assert "TWO_IN_INPUT1_OFFSET (60)" in header
    assert verify(tmp_path / "out", "reference,c,tflm", layers=True, probe_arena=False, latency=False).exact


def test_a_same_window_wider_than_its_input_is_read_and_bit_exact(tmp_path):
    """YOLO's 9x9 SAME max pool on a 3x3 map and a 9-tap depthwise conv over 2 frames (issue 21): legal,
    the taps outside the input are skipped, as in TFLite Micro."""
    from pocketml.deploy.tflite import write_tflite

    b = GraphBuilder("wide", (3, 2, 4), seed=5)
    y = b.pool(b.depthwise(b.input, k=(9, 1), act="relu"), "maxpool", k=9, stride=1, mode="same")
    (tmp_path / "wide.tflite").write_bytes(write_tflite(b.graph(y)))
    imp = read_tflite(tmp_path / "wide.tflite")
    x = random_inputs(imp, 40, seed=1)
    ref = imp.graph.run(x).reshape(len(x), -1)
    assert np.array_equal(run_source_in_tflm(tmp_path / "wide.tflite", imp, x), ref)
    assert len(np.unique(ref)) > 3


def test_compile_state_per_inference_resets_lstm_state(tmp_path):
    """`compile --state per-inference` on an LSTM .tflite (pocketml's writer): the C resets the state at
    every invoke, the reference runs each sample alone and TFLite Micro on the source file is reset per
    sample, all equal; the default (streaming) carries the state and is exact too, on other outputs."""
    from pocketml.deploy.tflite import write_tflite
    from pocketml.deploy.verify.conformance import one_op_graph
    from pocketml.ops.unidirectional_sequence_lstm.test_unidirectional_sequence_lstm import make_lstm

    op, t = make_lstm(steps=4, depth=6, units=5, clip=10.0)
    path = tmp_path / "lstm.tflite"
    path.write_bytes(write_tflite(one_op_graph(op, t)))
    imp = read_tflite(path)
    x = random_inputs(imp, 30, 0)
    streaming, alone = imp.graph.run_flat(x), imp.graph.with_state("per-inference").run_flat(x)
    assert not np.array_equal(streaming, alone)  # the two meanings give different outputs on these inputs
    assert np.array_equal(run_source_in_tflm(path, imp, x, reset_state=True), alone)
    runner = CliRunner()
    for state in ("per-inference", "streaming"):
        out = tmp_path / state
        res = runner.invoke(app, ["compile", str(path), "-o", str(out), "--samples", "30", "--state", state, "--json"])
        assert res.exit_code == 0, res.output
        doc = json.loads((out / "result.json").read_text())
        read = next(s for s in doc["stages"] if s["name"] == "read-tflite")
        assert read["state"] == state and doc["verify"]["source_tflm"]["mismatching_samples"] == 0
        assert doc["verify"]["exact"] and doc["c_mismatches"] == 0
        assert doc["cortexm"] is None or doc["cortexm"]["qemu_mismatches"] in (0, None)  # the board's DSP build
        header = (out / "c" / "model.h").read_text()
        assert ("every invoke starts from" in header) == (state == "per-inference")


def test_compile_state_refusals(tmp_path):
    """SVDF memory has no per-inference form: refused by name, nothing written; an unknown state is refused."""
    from pocketml.deploy.tflite import write_tflite
    from pocketml.ops.svdf.test_svdf import _keyword_like

    path = tmp_path / "kw.tflite"
    path.write_bytes(write_tflite(_keyword_like(np.random.default_rng(7))))
    with pytest.raises(PocketMLError, match=r"svdf.*always persists"):
        compile(path, "nano33ble", tmp_path / "out", state="per-inference", report=False)
    assert not (tmp_path / "out").exists()
    with pytest.raises(PocketMLError, match="not one of"):
        compile(path, "nano33ble", tmp_path / "out", state="sometimes", report=False)


def test_a_16x8_tflite_compiles_and_verifies_on_cortex_m(tmp_path):
    """TFLite's 16x8 scheme (int16 activations, int8 weights, int64 or int32 biases) from a .tflite:
    bit-exact with TFLite Micro on the user's file, in C on the host and in QEMU."""
    from tflite_models import model_16x8

    from pocketml.deploy.tflite import write_tflite

    path = tmp_path / "model16x8.tflite"
    path.write_bytes(write_tflite(model_16x8()))
    imp = read_tflite(path)
    assert [imp.graph.tensors[op.output].dtype for op in imp.graph.ops] == ["int16"] * 9 + ["int8"]
    result = compile(path, "nano33ble", tmp_path / "out", samples=24, report=False)
    assert result.c_mismatches == 0 and result.verify["exact"]
    src = result.verify["source_tflm"]
    assert src["mismatching_samples"] == 0 and not src["weak_evidence"]
    if result.cortexm is not None:  # the arm-none-eabi toolchain is installed by `make test`
        assert result.cortexm.qemu_mismatches == 0 and result.cortexm.qemu_samples > 0
    report = verify(tmp_path / "out", "reference,c,tflm", layers=True, probe_arena=False, latency=False)
    assert report.exact and report.layers and all(p.first is None for p in report.layers)  # every int16 layer


def test_a_16x8_tflite_with_float_edges_compiles_and_verifies(tmp_path):
    """What TFLite's converter writes for 16x8: float32 -> QUANTIZE -> int16 ... int16 -> DEQUANTIZE -> float32.
    The edges are dropped: the C takes and gives int16_t, checked against TFLite Micro on the file."""
    from tflite_models import model_16x8

    graph = model_16x8(1, int16_edges=True)
    spec = spec_of(graph)
    float_edges(spec, graph, True, True)
    path = tmp_path / "float16x8.tflite"
    path.write_bytes(spec.serialise())
    imp = read_tflite(path)
    assert imp.input.dtype == imp.output.dtype == "float32"
    assert imp.graph.input_info.dtype == imp.graph.output_info.dtype == "int16"
    result = compile(path, "nano33ble", tmp_path / "out", samples=24, report=False)
    assert result.c_mismatches == 0 and result.verify["exact"]
    assert result.verify["source_tflm"]["mismatching_samples"] == 0
    assert "const int16_t *input, int16_t *output" in (tmp_path / "out" / "c" / "model.h").read_text()
    if result.cortexm is not None:
        assert result.cortexm.qemu_mismatches == 0 and result.cortexm.qemu_samples > 0


def test_an_op_without_int16_support_is_refused_naming_op_and_type(tmp_path):
    """A HARD_SWISH reading int16 activations (pocketml runs it on int8 only): one clear line."""
    from tflite_models import model_16x8

    from pocketml.formats.tflite import OperatorSpec

    spec = spec_of(model_16x8())
    conv = spec.operators[5]  # the 1x1 CONV_2D between two int16 tensors becomes HARD_SWISH(x)
    assert conv.builtin_code == Op.CONV_2D
    spec.operators[5] = OperatorSpec(Op.HARD_SWISH, 1, (conv.inputs[0],), conv.outputs)
    path = tmp_path / "hswish16.tflite"
    path.write_bytes(spec.serialise())
    with pytest.raises(PocketMLError) as err:
        compile(path, "nano33ble", tmp_path / "out")
    assert "operator 5 HARD_SWISH" in err.value.problem and "INT16" in err.value.problem
    assert "CONV_2D" in err.value.problem and not (tmp_path / "out").exists()
