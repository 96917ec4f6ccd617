"""A MAX_POOL_2D fused into the CONV_2D before it (graph/fuse.py, ops/conv2d ``pool``): the same bits as
the two ops, in the numpy reference, the portable C and the DSP C (host, sanitizers), written over
the conv's dying input without reading a byte it overwrote; refused where the bits could differ;
and the RAM plan it lowers (digits-cnn's shape) chosen by ``--memory ram``."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tflite_models import GraphBuilder

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.dsp import KernelTarget
from pocketml.deploy.c.emit import kernel_needs
from pocketml.deploy.cortexm import toolchain_available
from pocketml.deploy.verify.conformance import SANITIZE
from pocketml.graph.fuse import fuse
from pocketml.graph.ir import QuantParams
from pocketml.graph.planner import plan_memory

ACLE = Path(__file__).parent / "acle"
needs_qemu = pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="run `make cortexm-toolchain`")


def conv_pool(seed: int):
    """A random conv (kernel, stride, padding, dilation, activation) then a random max pool, then a conv."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(f"fuse{seed}", (int(rng.integers(6, 12)), int(rng.integers(6, 12)), int(rng.integers(1, 6))),
                     seed=seed)
    k = int(rng.choice([1, 2, 3]))
    x = b.conv(b.input, int(rng.integers(1, 20)), k=k, stride=int(rng.choice([1, 1, 2])),
               mode=("same", "valid")[seed % 2], dilation=int(rng.choice([1, 1, 2])) if k > 1 else 1,
               act=str(rng.choice(["none", "relu", "relu6"])))
    pk = int(rng.choice([2, 2, 3]))
    x = b.pool(x, "maxpool", k=pk, stride=int(rng.choice([1, 2, 2, pk])), mode=str(rng.choice(["same", "valid"])))
    return b.graph(b.conv(x, 3, k=1))


def pad_conv(seed: int):
    """A random explicit PAD of rows and columns, then a conv or a depthwise conv (any stride, padding)."""
    rng = np.random.default_rng(100 + seed)
    b = GraphBuilder(f"pad{seed}", (int(rng.integers(5, 10)), int(rng.integers(5, 10)), 4), seed=seed)
    x = b.conv(b.input, 8, k=1, act="relu")
    pads = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(2))
    x = b.pad(x, pads)
    if seed % 2:  # three pairs (the channels unpadded), as a .tflite file states them
        b.ops[-1] = replace(b.ops[-1], paddings=(*pads, (0, 0)))
    k, stride, mode = int(rng.choice([1, 3])), int(rng.choice([1, 2])), str(rng.choice(["same", "valid"]))
    if seed % 3 == 0:
        x = b.depthwise(x, k=k, stride=stride, mode=mode, act="relu")
    else:
        x = b.conv(x, 6, k=k, stride=stride, mode=mode, act="relu")
    return b.graph(b.conv(x, 3, k=1))


def direct_pool():
    """A 1x1 conv the DSP kernel widens straight from its input rows (in_c % 4 == 0), an odd channel
    count, then a 3x3 SAME max pool of stride 2 (nine taps: a pixel pair, then a lone pixel)."""
    b = GraphBuilder("direct", (7, 6, 8), seed=9)
    x = b.pool(b.conv(b.input, 5, k=1, act="relu"), "maxpool", k=3, stride=2, mode="same")
    return b.graph(b.conv(x, 3, k=1))


def digits_like():
    """digits-cnn's shape: 8x8 input, conv 16 + conv 32 (ReLU), 2x2 max pool, FC."""
    b = GraphBuilder("digits", (8, 8, 1), seed=1)
    x = b.conv(b.input, 16, k=3, act="relu")
    x = b.conv(x, 32, k=3, act="relu")
    x = b.pool(x, "maxpool", k=2, stride=2)
    x = b.reshape(x, (512,))
    return b.graph(b.fc(x, 10))


def _inputs(graph, n=24, seed=0):
    return np.random.default_rng(seed).integers(-128, 128, size=(n, *graph.input_info.shape), dtype=np.int8)


@pytest.mark.parametrize("seed", range(24))
def test_fused_reference_equals_conv_then_pool(seed):
    graph = conv_pool(seed)
    fused = fuse(graph)
    assert len(fused.fused) == 1 and [op.kind for op in fused.graph.ops] == ["conv2d", "conv2d"]
    x = _inputs(graph)
    assert np.array_equal(fused.graph.run_flat(x), graph.run_flat(x))


@pytest.mark.parametrize("seed", range(18))
def test_fused_pad_reference_equals_pad_then_conv(seed):
    graph = pad_conv(seed)
    fused = fuse(graph)
    assert [a for a, _ in fused.fused] == ["pad1"] and "pad" not in [op.kind for op in fused.graph.ops]
    x = _inputs(graph)
    assert np.array_equal(fused.graph.run_flat(x), graph.run_flat(x))


def test_a_pad_with_another_value_is_not_fused():
    b = GraphBuilder("padv2", (6, 6, 4), seed=1)
    x = b.pad(b.input, ((1, 1), (1, 1)))
    graph = b.graph(b.conv(x, 4, k=3, mode="valid"))
    pad, conv = graph.ops
    assert conv.with_pad(pad, graph.tensors) is not None
    assert conv.with_pad(replace(pad, value=pad.prepare(graph.tensors).pad_value + 1), graph.tensors) is None
    assert conv.with_pad(replace(pad, paddings=((1, 1), (1, 1), (1, 0))), graph.tensors) is None  # channels


def _fused_op(graph):
    fused = fuse(graph).graph
    return fused, fused.ops[0]


@pytest.mark.parametrize("seed", range(24))
def test_fused_overlap_lag_never_overwrites_a_byte_still_read(seed):
    """The fused kernels write output pixel q's bytes while q's pool window reads its conv pixels' fields,
    pixels in raster order: walk that order (the portable kernel's, conv pixel by conv pixel: the DSP
    kernel's pairs write later) and check no read meets a byte already written."""
    fused, op = _fused_op(conv_pool(seed))
    x, y = fused.tensors[op.inputs[0]], fused.tensors[op.output]
    lag = op.overlap_lag(x, y)
    (ih, iw, cin), (oh, ow, cout) = x.shape, y.shape
    mh, mw = op.map_hw((ih, iw))
    pool, kh, kw = op.pool, *op.weight.shape[1:3]
    written = -1  # highest output byte written so far, in input-byte coordinates (output base = -lag)
    for py in range(oh):
        for px in range(ow):
            for cy in range(max(0, py * pool.stride[0] - pool.padding[0]),
                            min(mh, py * pool.stride[0] - pool.padding[0] + pool.kernel[0])):
                for cx in range(max(0, px * pool.stride[1] - pool.padding[1]),
                                min(mw, px * pool.stride[1] - pool.padding[1] + pool.kernel[1])):
                    for ky in range(kh):
                        for kx in range(kw):
                            iy = cy * op.stride[0] - op.padding[0] + ky * op.dilation[0]
                            ix = cx * op.stride[1] - op.padding[1] + kx * op.dilation[1]
                            if 0 <= iy < ih and 0 <= ix < iw:
                                assert (iy * iw + ix) * cin > written, (py, px, iy, ix)
                    # after its first conv pixel (the DSP kernel: pair) the output pixel's bytes are
                    # stored, then merged while the window's other conv pixels are read
                    written = (py * ow + px + 1) * cout - 1 - lag


def test_fusion_refused_where_the_bits_could_differ():
    b = GraphBuilder("refuse", (8, 8, 2), seed=2)
    graph = b.graph(b.pool(b.conv(b.input, 4, k=3), "maxpool", k=2, stride=2))
    conv, pool = graph.ops
    assert conv.with_pool(pool, graph.tensors) is not None
    requantized = {**graph.tensors, pool.output: replace(graph.tensors[pool.output], quant=QuantParams(0.5, 1))}
    assert conv.with_pool(pool, requantized) is None  # a pool that changed the scale (TFLite's never does)
    b = GraphBuilder("act", (8, 8, 2), seed=2)
    assert fuse(b.graph(b.pool(b.conv(b.input, 4, k=3), "maxpool", act="relu"))).fused == ()
    b = GraphBuilder("shared", (8, 8, 2), seed=2)
    x = b.conv(b.input, 4, k=3)
    y = b.pool(x, "maxpool", k=1, stride=1)
    assert fuse(b.graph(b.add(x, y))).fused == ()  # the conv's map is read twice
    b = GraphBuilder("avg", (8, 8, 2), seed=2)
    assert fuse(b.graph(b.pool(b.conv(b.input, 4, k=3), "avgpool"))).fused == ()


def _write(src, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in src.files.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("target", [None, KernelTarget(True, "speed"), KernelTarget(True, "size")],
                         ids=["portable", "dsp-speed", "dsp-size"])
def test_fused_c_equals_the_unfused_reference(target, tmp_path):
    """Portable and DSP C of fused graphs, in place over their input (the RAM plan), under ASan/UBSan."""
    for seed, graph in ((4, conv_pool(4)), (5, conv_pool(5)), (8, conv_pool(8)), (9, direct_pool()),
                        (10, pad_conv(1)), (11, pad_conv(3)), (12, pad_conv(4))):
        fused = fuse(graph).graph
        x = _inputs(graph)
        kernels = kernel_needs(fused, target) if target is not None else None
        plan = plan_memory(fused, input_in_arena=True, kernels=kernels)
        assert seed >= 10 or fused.ops[0].name in plan.in_place_ops  # written over its dying input
        src = emit_c(fused, plan, kernels=target) if target is not None else emit_c(fused, plan)
        assert seed >= 10 or ".pool = {" in src.files["model.c"]
        assert ("conv2d_dsp.h" in src.files) == (target is not None)
        cflags = f"{SANITIZE} -I{ACLE}"
        got = run_host(build_host(_write(src, tmp_path / str(seed)), cflags=cflags), x, graph.output_bytes)
        assert np.array_equal(got, graph.run_flat(x)), seed


def test_fusion_lowers_digits_cnn_peak():
    graph = digits_like()
    target = KernelTarget(True, "speed")
    fused = fuse(graph)
    assert fused.fused == (("conv1", "maxpool2"),)
    before = plan_memory(graph, input_in_arena=True, kernels=kernel_needs(graph, target, 1024))
    after = plan_memory(fused.graph, input_in_arena=True, kernels=kernel_needs(fused.graph, target, 1024))
    # the conv's 2,048-byte map is gone: its 512-byte pooled output lies over its dying input
    assert after.arena_bytes <= before.arena_bytes - 1024, (before.arena_bytes, after.arena_bytes)
    assert "conv1" in after.in_place_ops


@needs_qemu
def test_compile_with_the_ram_plan_fuses_the_pool(tmp_path):
    """``pocketml compile --memory ram``: the board's C (c-dsp/) runs the fused graph, exact in QEMU against
    the unfused reference; result.json names the fused layers; the host C and model.tflite stay unfused.
    ``--memory balanced``: the fused plan is the candidate ``ram+fuse``, and the smallest RAM."""
    from tflite_models import spec_of

    from pocketml.devices import find_device, load_catalogue
    from pocketml.pipeline.from_tflite import compile_tflite
    from pocketml.pipeline.plans import search_plans

    graph = digits_like()
    path = tmp_path / "digits.tflite"
    path.write_bytes(spec_of(graph).serialise())
    result = compile_tflite(path, "nucleo_l476rg", tmp_path / "out", samples=4, report=False, memory="ram")
    stage = next(s for s in result.stages if s.name == "deploy-cortexm").figures
    assert stage["memory"] == "ram+fuse" and stage["fused"] == [["op1_conv_2d", "op2_max_pool_2d"]]
    assert stage["qemu_mismatches"] == 0 and result.c_mismatches == 0 and result.verify.exact
    assert re.search(r"\.pool = \{\s*\.h = 2,", (tmp_path / "out" / "c-dsp" / "model.c").read_text())
    assert "pocketml_max_pool2d(" in (tmp_path / "out" / "c" / "model.c").read_text()  # host C: unfused
    assert len(result.memory.ops) == 4 and not any("max_pool" in op for op in result.memory.ops)
    assert "memory plan ram+fuse" in result.memory.build
    board = find_device("nucleo_l476rg", load_catalogue())
    x = _inputs(graph, n=2)
    search = search_plans(graph, board, KernelTarget(True, "speed"), None, x, None)
    fused = next(c for c in search.candidates if c.label == "ram+fuse")
    ram = next(c for c in search.candidates if c.label == "ram")
    assert fused.ram_bytes < ram.ram_bytes and fused.instructions and search.chosen is fused
    assert fused.to_dict()["fused"] == [["conv1", "maxpool2"]]


def test_pad_fusion_removes_the_padded_map_from_the_plan():
    """ResNet's stride-2 stem in Keras style (an explicit PAD, then a VALID conv): fused, the plan holds
    no padded map (16x16x16 + 17x17x16 live together before; the conv reads its input directly after)."""
    b = GraphBuilder("stem", (16, 16, 8), seed=4)
    x = b.conv(b.input, 16, k=3, act="relu")
    x = b.pad(x, ((0, 1), (0, 1)))
    graph = b.graph(b.conv(b.conv(x, 16, k=3, stride=2, mode="valid", act="relu"), 4, k=1))
    fused = fuse(graph)
    assert fused.fused == (("pad1", "conv2"),)
    before, after = plan_memory(graph), plan_memory(fused.graph)
    assert before.arena_bytes - after.arena_bytes >= 17 * 17 * 16 - 16 * 16 * 16, (before, after)
    x = _inputs(graph)
    assert np.array_equal(fused.graph.run_flat(x), graph.run_flat(x))


def test_compile_for_a_board_without_dsp_fuses_its_portable_c(tmp_path):
    """A board without the DSP extension runs the host's portable ``c/``: with ``--memory ram`` that C runs
    the fused graph (the conv's map never exists), exact against the unfused reference."""
    from tflite_models import spec_of

    from pocketml.pipeline.from_tflite import compile_tflite

    graph = digits_like()
    path = tmp_path / "digits.tflite"
    path.write_bytes(spec_of(graph).serialise())
    runs = {m: compile_tflite(path, "pico", tmp_path / m, samples=4, report=False, memory=m) for m in ("speed", "ram")}
    ram = runs["ram"]
    assert re.search(r"\.pool = \{\s*\.h = 2,", (tmp_path / "ram" / "c" / "model.c").read_text())
    assert "pocketml_max_pool2d(" not in (tmp_path / "ram" / "c" / "model.c").read_text()
    assert ram.c_mismatches == 0 and ram.verify.exact and len(ram.memory.ops) == 4
    assert ram.arena_bytes < runs["speed"].arena_bytes
    stage = next((s for s in ram.stages if s.name == "deploy-cortexm"), None)
    if stage is not None:  # QEMU ran the board's build
        assert stage.figures["memory"] == "ram+fuse" and stage.figures["qemu_mismatches"] == 0
        assert stage.figures["fused"] == [["op1_conv_2d", "op2_max_pool_2d"]]


def test_a_fused_graph_is_not_written_as_tflite():
    """The .tflite stays the unfused graph: a conv with a pool in its epilogue has no TFLite operator."""
    from tflite_models import spec_of

    from pocketml.errors import PocketMLError

    with pytest.raises(PocketMLError, match="no TFLite operator"):
        spec_of(fuse(digits_like()).graph)
