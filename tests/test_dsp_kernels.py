"""The DSP kernels (Cortex-M4/M7/M33): the same integers as the reference, on the host and on the M4.

Host: the DSP C compiled with ASan/UBSan against tests/acle/arm_acle.h (a portable emulation of
the intrinsics that aborts where the hardware would silently wrap), built for speed and for size.
Target: the same C cross-compiled (-O2 / -Os) and run in QEMU's Cortex-M4, against the reference
and TFLite Micro running the same model. Plus the layouts the emitter stores weights in, read
back the way the kernels read them, and the choice of kernels per board.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from tflite_models import GraphBuilder, spec_of

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.dsp import KernelTarget, has_dsp
from pocketml.deploy.c.emit import kernel_needs
from pocketml.deploy.cortexm import build_cortexm, run_qemu, toolchain_available
from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.verify.conformance import SANITIZE
from pocketml.devices import find_device
from pocketml.errors import PocketMLError
from pocketml.graph import fixedpoint
from pocketml.graph.planner import plan_memory
from pocketml.ops.add.dsp import add_table
from pocketml.ops.conv2d.dsp import conv_weights
from pocketml.ops.depthwise_conv2d.dsp import depthwise_weights
from pocketml.ops.dsp import channel_table
from pocketml.ops.fully_connected.dsp import fc_weights
from pocketml.pipeline.deploy import choose_kernels
from pocketml.pipeline.from_tflite import run_source_in_tflm

ACLE = Path(__file__).parent / "acle"  # the test-only emulation of <arm_acle.h>

needs_qemu = pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="run `make cortexm-toolchain`")
TARGETS = [KernelTarget(True, "speed"), KernelTarget(True, "size")]


def chain_model():
    """Strided gather conv (in_c 4), 1x1 on an odd pixel count, depthwise stride 1 and 2, an odd
    channel count, a padded average pool (varying counts), FC with depth and out_c not multiples of 4."""
    b = GraphBuilder("dsp_chain", (10, 9, 4), seed=3)
    x = b.conv(b.input, 8, k=3, stride=2, mode="same", act="relu6")  # 5x5x8: SAME with the odd pixel
    x = b.conv(x, 12, k=1)  # direct 1x1, 25 pixels
    x = b.depthwise(x, k=3, mode="same", act="relu")
    x = b.depthwise(x, k=3, stride=2, mode="same")  # 3x3x12
    x = b.conv(x, 7, k=1, act="relu")  # odd out_c
    x = b.conv(x, 8, k=(2, 3), mode="valid")  # in_c 7: gathered, depth 42 -> 44; 2x1x8
    x = b.pool(x, "avgpool", k=3, stride=1, mode="same")
    x = b.reshape(x, (16,))
    x = b.fc(x, 6, act="relu")
    return b.graph(b.fc(x, 3))


def residual_model():
    """3x3 convs with padding, a residual ADD on the input, dilated conv, global average pool, FC."""
    b = GraphBuilder("dsp_residual", (8, 8, 8), seed=4)
    x = b.conv(b.input, 8, k=3, mode="same", act="relu")
    x = b.conv(x, 8, k=3, mode="same")
    x = b.add(b.input, x, act="relu")
    x = b.conv(x, 12, k=3, mode="same", dilation=2)
    x = b.depthwise(x, k=(3, 2), mode="valid", dilation=(1, 2))
    x = b.pool(x, "avgpool", k=(6, 6), stride=1, mode="valid")
    x = b.reshape(x, (12,))
    return b.graph(b.fc(x, 5))


def dead_channel_model():
    """Trained-away channels: all-zero weights and a huge bias, as MLPerf's VWW has them."""
    b = GraphBuilder("dsp_dead", (6, 6, 8), seed=5)
    x = b.conv(b.input, 8, k=1)
    conv = b.ops[-1]
    conv.weight[[1, 6]] = 0
    conv.bias[[1, 6]] = [2**30, -(2**30)]
    x = b.depthwise(x, k=3, mode="same")
    dw = b.ops[-1]
    dw.weight[..., 3] = 0
    dw.bias[3] = -(2**30)
    return b.graph(x)


MODELS = {"chain": chain_model, "residual": residual_model, "dead-channels": dead_channel_model}
KERNELS = {"chain": {"conv2d_dsp", "depthwise_conv2d_dsp", "avg_pool2d_dsp", "fully_connected_dsp"},
           "residual": {"conv2d_dsp", "add_dsp", "depthwise_conv2d_dsp", "avg_pool2d_dsp", "fully_connected_dsp"},
           "dead-channels": {"conv2d_dsp", "depthwise_conv2d_dsp"}}


def _inputs(graph, n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, size=(n, *graph.input_info.shape), dtype=np.int8)


def _write(src, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in src.files.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.label)
@pytest.mark.parametrize("model", list(MODELS))
def test_dsp_kernels_equal_the_reference_under_sanitizers(model, target, tmp_path):
    graph = MODELS[model]()
    x = _inputs(graph)
    ref = graph.run_flat(x)
    src = emit_c(graph, plan_memory(graph), kernels=target)
    used = {name[:-2] for name in src.files if name.endswith("_dsp.h")} - {"pocketml_dsp"}
    assert used == KERNELS[model]  # every kernel under test really ran: no silent portable fallback
    assert ("conv2d_dsp.c" in src.files) == (target.optimize == "size")
    assert "conv2d.c" not in src.files and "pocketml_dsp.h" in src.files  # no portable copy rides along
    got = run_host(build_host(_write(src, tmp_path), cflags=f"{SANITIZE} -I{ACLE}"), x, ref.shape[1])
    assert np.array_equal(got, ref)


def test_a_channel_without_a_right_shift_keeps_the_portable_kernel(tmp_path):
    """r = 0 (a multiplier in [0.5, 1)) is outside the fast requantization: that layer stays portable."""
    b = GraphBuilder("dsp_r0", (4, 4, 8), seed=6)
    x = b.conv(b.input, 4, k=1)
    b.ops[-1].weight_scale[2] = 40.0  # M = s_in * s_w / s_out >= 0.5 for channel 2
    graph = b.graph(b.depthwise(x, k=3, mode="same"))
    assert graph.op_data[0].requant.right_shift[2] == 0
    src = emit_c(graph, plan_memory(graph), kernels=KernelTarget(True, "speed"))
    assert "conv2d.c" in src.files and "depthwise_conv2d_dsp.h" in src.files and "conv2d_dsp.h" not in src.files
    x = _inputs(graph, 16)
    got = run_host(build_host(_write(src, tmp_path), cflags=f"{SANITIZE} -I{ACLE}"), x, graph.output_bytes)
    assert np.array_equal(got, graph.run_flat(x))


@needs_qemu
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.label)
def test_dsp_build_in_qemu_equals_reference_and_tflite_micro(target, tmp_path):
    graph = residual_model()
    path = tmp_path / "residual.tflite"
    path.write_bytes(spec_of(graph).serialise())
    imp = read_tflite(path)
    x = _inputs(graph, 24, seed=1)
    ref = graph.run_flat(x)
    assert np.array_equal(run_source_in_tflm(path, imp, x), ref)
    folder = _write(emit_c(graph, plan_memory(graph), kernels=target), tmp_path / "c")
    build = build_cortexm(folder, "cortex-m4f", tmp_path / "build")
    assert build.opt == ("-O2" if target.optimize == "speed" else "-Os") and build.kernels == target.label
    run = run_qemu(build, x)
    assert np.array_equal(run.outputs, ref)
    portable = run_qemu(_write(emit_c(graph, plan_memory(graph)), tmp_path / "p"), x[:2])
    assert run.instructions_per_inference < portable.instructions_per_inference / 2


# ---- the stored layouts, read back as the kernels read them --------------------------------------

def _widen(v: np.ndarray) -> np.ndarray:
    """int8 [..., 4k] -> [..., k, 2 (even, odd), 2 lanes], as SXTB16 / SXTB16 ROR 8 widen a word."""
    g = v.reshape(*v.shape[:-1], -1, 4).astype(np.int64)
    return np.stack([g[..., [0, 2]], g[..., [1, 3]]], axis=-2)


def test_conv_weights_pair_with_the_widened_fields():
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(5, 10), dtype=np.int8)  # odd channels, K not a multiple of 4
    x = rng.integers(-128, 128, size=(2, 12), dtype=np.int8)
    x[:, 10:] = rng.integers(-128, 128, size=(2, 2))  # the kernel's zero weights must ignore the padding
    want = x[:, :10].astype(np.int64) @ w.T.astype(np.int64)
    fields = _widen(x)  # [pixel, g, j, lane]
    wide = conv_weights(w, 12, wide=True).view("<i2").reshape(3, 3, 2, 2, 2)  # [q, g, j, c', lane]
    got = np.einsum("pgjl,qgjcl->pqc", fields, wide.astype(np.int64)).reshape(2, 6)[:, :5]
    assert np.array_equal(got, 2 * want)  # stored doubled
    narrow = conv_weights(w, 12, wide=False).view(np.int8).reshape(3, 3, 2, 4)  # [q, g, c', 4]
    got = np.einsum("pgjl,qgcjl->pqc", fields, _widen(narrow.transpose(0, 2, 1, 3).reshape(3, 2, 12))
                    .transpose(0, 2, 1, 3, 4)).reshape(2, 6)[:, :5]
    assert np.array_equal(got, want)


def test_fc_and_depthwise_weights_layouts():
    rng = np.random.default_rng(1)
    w = rng.integers(-127, 128, size=(6, 8), dtype=np.int8)
    x = rng.integers(-128, 128, size=8, dtype=np.int8)
    wide = fc_weights(w, 8, wide=True).view("<i2").reshape(2, 2, 4, 2, 2)  # [b, g, c', j, lane]
    got = np.einsum("gjl,bgcjl->bc", _widen(x), wide.astype(np.int64)).ravel()[:6]
    assert np.array_equal(got, 2 * (w.astype(np.int64) @ x))
    narrow = fc_weights(w, 8, wide=False).view(np.int8).reshape(2, 2, 4, 4)  # [b, g, c', 4]
    assert np.array_equal(narrow.transpose(0, 2, 1, 3).reshape(8, 8)[:6], w)
    dw = rng.integers(-127, 128, size=(1, 3, 3, 8), dtype=np.int8)
    wide = depthwise_weights(dw, True).view("<i2").reshape(2, 9, 2, 2)  # [g, tap, j, lane]: channel 4g + j + 2 lane
    assert np.array_equal(wide[1, 4, 1, 1], 2 * dw[0, 1, 1, 7])
    assert np.array_equal(depthwise_weights(dw, False).view(np.int8).reshape(2, 9, 4)[1, 8], dw[0, 2, 2, 4:])


def test_channel_table_requantizes_like_the_reference():
    graph = dead_channel_model()
    op, data = graph.ops[0], graph.op_data[0]
    table = channel_table(op.weight, op.bias, data.input_offset, data.requant)
    assert table is not None and tuple(table[1]) == (0, 0, 2 * int(data.requant.apply(op.bias[None])[0, 1]), 1)
    rng = np.random.default_rng(2)
    acc = rng.integers(-2**20, 2**20, size=(200, len(table))).astype(np.int64)
    m, nudge, r = (table[:, k].astype(np.int64) for k in (1, 2, 3))
    y = (2 * acc * m + 2**31) >> 32  # SMMULR of the doubled accumulator
    z = np.clip((y + nudge + (y >> 63)) >> r, -128, 127)
    live = np.any(op.weight.reshape(len(table), -1), axis=1)
    want = data.requant.apply(acc.astype(np.int32)).astype(np.int64)
    assert np.array_equal(np.clip(z, data.requant.act_min, data.requant.act_max)[:, live], want[:, live])


def test_add_table_is_adds_input_rescale():
    q = np.arange(-128, 128, dtype=np.int32)
    want = fixedpoint.rounding_divide_by_pot(
        fixedpoint.saturating_rounding_doubling_high_mul((q + 7) * (1 << 20), np.int32(1623821475)), 3)
    assert np.array_equal(add_table(7, 1623821475, 3), 2 * want.astype(np.int64))


# ---- which kernels a board gets ---------------------------------------------------------------------

def test_kernels_follow_the_board_and_optimize():
    graph = chain_model()
    plan = plan_memory(graph)
    nucleo, pico = find_device("nucleo_l4r5zi"), find_device("pico")
    assert has_dsp(nucleo) and not has_dsp(pico) and not has_dsp(find_device("uno"))
    assert choose_kernels(graph, plan, "m", pico, None, None)[0].dsp is False
    assert choose_kernels(graph, plan, "m", nucleo, None, None)[0] == KernelTarget(True, "speed")
    assert choose_kernels(graph, plan, "m", nucleo, "size", None)[0] == KernelTarget(True, "size")
    from dataclasses import replace

    tiny = replace(nucleo, flash_bytes=4096)  # the speed build's int16 weights would take over half of it
    target, why = choose_kernels(graph, plan, "m", tiny, None, None)
    assert target == KernelTarget(True, "size") and "half" in why
    with pytest.raises(PocketMLError, match="--optimize must be one of"):
        choose_kernels(graph, plan, "m", nucleo, "fast", None)
    speed = emit_c(graph, plan, kernels=KernelTarget(True, "speed"))
    size = emit_c(graph, plan, kernels=KernelTarget(True, "size"))
    assert size.const_bytes < speed.const_bytes < 2.2 * size.const_bytes
    assert '_KERNELS "dsp-speed"' in speed.files["model.h"] and "_run(" in speed.files["model.c"]


# ---- the scratch-free (lean) fully connected kernel of the smallest-RAM plan ----------------------

def fc_chain_model():
    """Fully connected layers with depths 70 (2 left over), 40 (whole groups) and 9 (1 left over)."""
    b = GraphBuilder("dsp_lean_fc", (70,), seed=8)
    x = b.fc(b.input, 40, act="relu")
    x = b.fc(x, 9)
    return b.graph(b.fc(x, 3))


def _lean_sources(graph, target):
    """The DSP C with every fully connected layer lean, and with none; the lean plan's arena is smaller."""
    needs = kernel_needs(graph, target)
    assert all(n.lean == 0 and n.scratch > 0 for n in needs.values())
    plan = plan_memory(graph, kernels=needs)
    scratch = plan_memory(graph, kernels=needs, lean=False)
    assert plan.lean_ops and plan.arena_bytes < scratch.arena_bytes
    every = dataclasses.replace(plan, lean_ops=tuple(needs))  # the tail cases too, whatever the plan picked
    lean, wide = emit_c(graph, every, kernels=target), emit_c(graph, scratch, kernels=target)
    assert lean.files["model.c"].count(".scratch = 0") == len(needs) and "_dsp_scratch[" not in lean.files["model.c"]
    return lean, wide


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.label)
def test_lean_fully_connected_equals_the_reference_under_sanitizers(target, tmp_path):
    graph = fc_chain_model()
    x = _inputs(graph, 64, seed=3)
    lean, _ = _lean_sources(graph, target)
    got = run_host(build_host(_write(lean, tmp_path), cflags=f"{SANITIZE} -I{ACLE}"), x, graph.output_bytes)
    assert np.array_equal(got, graph.run_flat(x))


@needs_qemu
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.label)
def test_lean_fully_connected_in_qemu(target, tmp_path):
    """On the Cortex-M4: the lean kernel equals the reference and costs a few instructions more."""
    graph = fc_chain_model()
    x = _inputs(graph, 16, seed=4)
    lean, wide = _lean_sources(graph, target)
    runs = [run_qemu(build_cortexm(_write(src, tmp_path / k), "cortex-m4f", tmp_path / f"{k}-build"), x)
            for k, src in (("lean", lean), ("wide", wide))]
    for run in runs:
        assert np.array_equal(run.outputs, graph.run_flat(x))
    assert runs[0].instructions_per_inference < 1.5 * runs[1].instructions_per_inference
