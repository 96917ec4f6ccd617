"""Patch-based execution of the first stage (MCUNetV2, issue 20): the patched graph equals the whole
graph bit for bit (numpy reference, C under ASan/UBSan, QEMU with the DSP kernels), and the patch
arena lowers the peak of a ResNet-like model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tflite_models import GraphBuilder

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.dsp import KernelTarget
from pocketml.deploy.c.emit import CFLAGS, kernel_needs
from pocketml.deploy.cortexm import build_cortexm, run_qemu, toolchain_available
from pocketml.graph.patch import Span, best_patched, build_stage, patch_plans, patched_graph, plan_patched, stage_cuts
from pocketml.graph.planner import plan_memory

needs_qemu = pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="run `make cortexm-toolchain`")
SANITIZE = CFLAGS + " -fsanitize=address,undefined -fno-sanitize-recover=all"


def _resnet_like(seed: int = 0, size: int = 16):
    """ResNet-8's first two blocks in small: a 3x3 stem, an identity block, a stride-2 block with a
    1x1 shortcut; then an explicit PAD before a VALID stride-2 depthwise conv, a pool and a classifier."""
    b = GraphBuilder("patch_resnet", (size, size, 3), seed=seed)
    x = b.conv(b.input, 8, k=3, act="relu")
    y = b.conv(b.conv(x, 8, k=3, act="relu"), 8, k=3)
    x = b.add(x, y, act="relu")
    y = b.conv(b.conv(x, 16, k=3, stride=2, act="relu"), 16, k=3)
    x = b.add(b.conv(x, 16, k=1, stride=2), y, act="relu")
    x = b.depthwise(b.pad(x, ((0, 1), (0, 1))), k=3, stride=2, mode="valid", act="relu")
    x = b.pool(x, "avgpool", k=b.tensors[x].shape[:2], stride=1)
    return b.graph(b.fc(b.reshape(x, (16,)), 5))


def _random_chain(r: np.random.Generator):
    """Random windows: kernel 1..5, stride 1..2, dilation 1..2, SAME or VALID, depthwise or not, a skip."""
    h, w = (int(v) for v in r.integers(10, 17, 2))
    b = GraphBuilder("patch_random", (h, w, int(r.integers(1, 4))), seed=int(r.integers(100)))
    x = b.input
    for _ in range(int(r.integers(2, 5))):
        k, stride, dilation = int(r.integers(1, 6)), int(r.integers(1, 3)), int(r.integers(1, 3))
        mode = "same" if r.random() < 0.7 else "valid"
        if min(b.tensors[x].shape[:2]) < (k - 1) * dilation + 3:
            k, dilation, mode = 1, 1, "same"
        if r.random() < 0.3:
            x = b.depthwise(x, multiplier=int(r.integers(1, 3)), k=k, stride=stride, mode=mode, dilation=dilation,
                            act="relu")
        else:
            y = b.conv(x, int(r.integers(2, 7)), k=k, stride=stride, mode=mode, dilation=dilation, act="relu")
            if stride == 1 and mode == "same" and b.tensors[y].shape == b.tensors[x].shape:
                y = b.add(x, y)
            x = y
    hh, ww, c = b.tensors[x].shape
    return b.graph(b.fc(b.reshape(x, (hh * ww * c,)), 3))


def _divisor_grids(graph, cut):
    oh, ow, _ = graph.tensors[graph.ops[cut - 1].output].shape
    return [(gh, gw) for gh in range(1, oh + 1) for gw in range(1, ow + 1)
            if oh % gh == 0 and ow % gw == 0 and 1 < gh * gw <= 24]


def test_the_stage_of_a_resnet_is_its_first_blocks():
    graph = _resnet_like()
    cuts = stage_cuts(graph)
    assert cuts == [1, 4, 8, 9, 10]  # after the stem, each block, the PAD and the depthwise conv (not the pool)
    pad = build_stage(graph, 10, (2, 2))
    assert "reshape" in {op.kind for op in pad.inner.ops}  # on a patch, the PAD is its input's bytes
    stage = build_stage(graph, 8, (2, 2))
    # an output patch of 4 rows: the second 3x3 conv reads 6 rows of the stride-2 conv's output,
    # which reads 2·5 + 3 = 13 rows of the first block's output (from row -2: SAME pads 0 above)
    skip = next(m for m in stage.fills if m.tensor == graph.ops[3].output)
    assert skip.rows == Span(8, -2, 13) and skip.shape == (16, 16, 8)
    assert stage.source.rows == Span(8, -5, 19)  # three 3x3 convs more: 6 rows more, 3 above
    assert {op.kind for op in stage.inner.ops} == {"conv2d", "add", "strided_slice"}
    assert build_stage(graph, 8, (3, 3)) is None  # 8x8 does not split in 3
    b = GraphBuilder("pad_first", (8, 8, 2))
    x = b.conv(b.pad(b.input, ((1, 1), (1, 1))), 4, k=3, mode="valid")
    padded = b.graph(b.fc(b.reshape(x, (256,)), 2))
    assert stage_cuts(padded) == [1, 2] and build_stage(padded, 1, (2, 2)) is None  # a PAD alone: nothing runs
    assert build_stage(padded, 2, (2, 2)) is not None


@pytest.mark.parametrize("seed", range(3))
def test_patched_resnet_equals_the_whole_graph(seed):
    graph = _resnet_like(seed)
    x = np.random.default_rng(seed).integers(-128, 128, size=(6, 16, 16, 3), dtype=np.int8)
    ref = graph.run(x)
    checked = 0
    for cut in stage_cuts(graph):
        for grid in _divisor_grids(graph, cut):
            stage = build_stage(graph, cut, grid)
            np.testing.assert_array_equal(patched_graph(graph, stage).run(x), ref, err_msg=f"{cut} {grid}")
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("seed", range(6))
def test_patched_random_windows_equal_the_whole_graph(seed):
    r = np.random.default_rng(seed)
    checked = 0
    for _ in range(4):
        graph = _random_chain(r)
        x = r.integers(-128, 128, size=(3, *graph.input_info.shape), dtype=np.int8)
        ref = graph.run(x)
        for cut in stage_cuts(graph):
            for grid in _divisor_grids(graph, cut)[:6]:
                stage = build_stage(graph, cut, grid)
                if stage is not None:
                    np.testing.assert_array_equal(patched_graph(graph, stage).run(x), ref,
                                                  err_msg=f"{[op.name for op in graph.ops]} {cut} {grid}")
                    checked += 1
    assert checked >= 4


def test_without_its_zero_point_borders_a_patch_is_wrong():
    """The borders are what make patches exact: dropped, the output differs (the test can fail)."""
    graph = _resnet_like()
    x = np.random.default_rng(5).integers(-128, 128, size=(4, 16, 16, 3), dtype=np.int8)
    stage = build_stage(graph, 8, (2, 2))
    assert stage.fills
    assert not np.array_equal(patched_graph(graph, replace(stage, fills=())).run(x), graph.run(x))


def test_patches_lower_the_peak_and_cost_macs():
    graph = _resnet_like(size=32)
    whole = plan_memory(graph, input_in_arena=True)
    plans = patch_plans(graph, input_in_arena=True, max_patches=16)
    assert {p.stage.grid for p in plans} >= {(2, 2), (4, 4), (2, 8), (8, 2), (1, 16)}
    best = best_patched(graph, whole.arena_bytes, max_extra_macs=10.0, plans=plans)
    assert best is not None and best.plan.arena_bytes < 0.7 * whole.arena_bytes
    assert best.extra_macs > 0 and best.macs == best.graph.macs() == graph.macs() + best.extra_macs
    assert best.plan.arena_bytes == min(p.plan.arena_bytes for p in plans)
    budget = best_patched(graph, whole.arena_bytes, max_extra_macs=1.0, plans=plans)
    assert budget.extra_macs <= graph.macs() < best.extra_macs and budget.plan.arena_bytes > best.plan.arena_bytes
    assert best_patched(graph, whole.arena_bytes, max_extra_macs=0.0, plans=plans) is None


def test_patched_c_equals_the_reference_under_sanitizers(tmp_path):
    graph = _resnet_like(1)
    planned = plan_patched(graph, 8, (2, 2), input_in_arena=True)
    source = emit_c(planned.graph, planned.plan, "patched")
    model_c = source.files["model.c"]
    assert "for (int32_t pi = 0; pi < 2; pi++)" in model_c and "pocketml_patch_border(" in model_c
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    binary = build_host(tmp_path, SANITIZE)
    x = np.random.default_rng(3).integers(-128, 128, size=(8, 16, 16, 3), dtype=np.int8)
    np.testing.assert_array_equal(run_host(binary, x, graph.output_bytes), graph.run(x).reshape(len(x), -1))


@needs_qemu
def test_patched_dsp_c_runs_exact_in_qemu(tmp_path):
    """DSP kernels built for speed, their scratch inside the patch arena, on a Cortex-M4."""
    graph = _resnet_like(2)
    target = KernelTarget(True, "speed")
    planned = plan_patched(graph, 8, (2, 2), kernels=lambda g: kernel_needs(g, target, 1024), input_in_arena=True)
    assert any("#scratch" in t for b in planned.stage.plan.buffers for t in b.tensors)
    source = emit_c(planned.graph, planned.plan, "patched", kernels=target, scratch_limit=1024)
    assert "_dsp_scratch[" not in source.files["model.c"]
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    x = np.random.default_rng(4).integers(-128, 128, size=(3, 16, 16, 3), dtype=np.int8)
    run = run_qemu(build_cortexm(tmp_path, "cortex-m4f", tmp_path / "build"), x)
    np.testing.assert_array_equal(run.outputs, graph.run(x).reshape(len(x), -1))



@needs_qemu
def test_compile_with_the_ram_plan_runs_the_first_stage_in_patches(tmp_path):
    """``pocketml compile --memory ram``: the board's C (c-dsp/) runs the patched graph and plan, exact in
    QEMU against the unpatched reference; result.json names the plan, its RAM and the instructions it adds."""
    from tflite_models import spec_of

    from pocketml.pipeline.from_tflite import compile_tflite

    graph = _resnet_like(5)
    path = tmp_path / "resnet.tflite"
    path.write_bytes(spec_of(graph).serialise())
    result = compile_tflite(path, "nucleo_l476rg", tmp_path / "out", samples=4, report=True, memory="ram")
    stage = next(s for s in result.stages if s.name == "deploy-cortexm").figures
    assert stage["memory"].startswith("ram+patch (stage of ") and "patches)" in stage["memory"]
    assert stage["qemu_mismatches"] == 0 and result.c_mismatches == 0 and result.verify.exact
    patches = stage["patches"]
    assert stage["board_arena_bytes"] <= 0.9 * patches["unpatched_arena_bytes"]
    assert result.ram_bytes < patches["unpatched_ram_bytes"]
    assert patches["extra_macs"] > 0 and patches["extra_instructions"] > 0
    added = result.cortexm.instructions_per_inference - patches["unpatched_instructions"]
    assert added == patches["extra_instructions"]
    assert "pocketml_patch_border(" in (tmp_path / "out" / "c-dsp" / "model.c").read_text()
    assert "pocketml_patch_border(" not in (tmp_path / "out" / "c" / "model.c").read_text()  # host C: unpatched
    assert result.memory.ops[0] == "patch_stage" and "memory plan ram+patch" in result.memory.build
    first = result.cortexm.layers[0]  # profiled per layer of the graph the board runs: the stage is one
    assert first["name"] == "patch_stage" and first["kind"] == "patch_stage" and first["instructions"] > 0
    assert "memory plan ram+patch" in (tmp_path / "out" / "report.html").read_text()


@needs_qemu
def test_balanced_takes_the_patches_only_within_the_latency_budget():
    """``--memory balanced``: the patched plan is one more candidate, measured in QEMU; the default budget
    (speed + 10%) refuses its extra instructions, a budget that covers them takes its smaller RAM."""
    from pocketml.devices import find_device, load_catalogue
    from pocketml.pipeline.plans import search_plans

    graph = _resnet_like(6)
    board = find_device("nucleo_l476rg", load_catalogue())
    x = np.random.default_rng(7).integers(-128, 128, size=(2, 16, 16, 3), dtype=np.int8)
    target = KernelTarget(True, "speed")
    search = search_plans(graph, board, target, None, x, None)
    patched = next(c for c in search.candidates if c.label.startswith("ram+patch"))
    assert patched.board is not None and patched.instructions and not patched.within_budget
    assert patched.ram_bytes < min(c.ram_bytes for c in search.candidates if c is not patched)
    assert search.chosen is not patched and search.figures()["candidates"][-1]["patches"] == patched.board.patch_label
    wide = search_plans(graph, board, target, None, x, patched.latency_ms * 1.01)
    assert wide.chosen.label == patched.label and wide.chosen.board.graph.ops[0].kind == "patch_stage"
