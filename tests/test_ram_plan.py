"""The smallest-RAM plan (issue 20): overlapped layers of any stride, recentred chains, the input in
the arena; proven safe by a brute-force walk of the kernels' access order and by C runs whose
freed arena bytes are poisoned after every layer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tflite_models import GraphBuilder, spec_of

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.dsp import PORTABLE, KernelTarget
from pocketml.deploy.c.emit import CFLAGS, kernel_needs
from pocketml.deploy.cortexm import build_cortexm, run_qemu, toolchain_available
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.graph.planner import plan_memory
from pocketml.ops.conv2d.op import raster_overlap_lag

Q = QuantParams(0.1, 0)
needs_qemu = pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="run `make cortexm-toolchain`")


class _Window:
    def __init__(self, stride, padding) -> None:
        self.stride, self.padding = stride, padding


def _first_clobbered_read(h, w, cin, oh, ow, cout, k, stride, pad, dilation, lag) -> tuple | None:
    """Walk a raster kernel (output pixel by pixel: read its whole field, then write its channels)
    with the output ``lag`` bytes below the input; the first read of an overwritten input byte."""
    base = max(lag, 0)  # input start; the output starts at base - lag >= 0
    clobbered = np.zeros(base + h * w * cin + max(0, -lag) + oh * ow * cout, bool)
    for oy, ox in itertools.product(range(oh), range(ow)):
        for ky, kx in itertools.product(range(k[0]), range(k[1])):
            iy, ix = oy * stride[0] - pad[0] + ky * dilation[0], ox * stride[1] - pad[1] + kx * dilation[1]
            if 0 <= iy < h and 0 <= ix < w:
                at = base + (iy * w + ix) * cin
                if clobbered[at:at + cin].any():
                    return oy, ox, iy, ix
        p = oy * ow + ox
        start = base - lag + p * cout
        clobbered[start:start + cout] = True
    return None


def _random_windows(r, n: int = 12):
    """Random 2-D windows (kernel, stride, dilation, input size, padding) and their output size."""
    for _ in range(n):
        k = tuple(int(v) for v in r.integers(1, 4, 2))
        stride = tuple(int(v) for v in r.integers(1, 3, 2))
        dilation = tuple(int(v) for v in r.integers(1, 3, 2))
        h, w = (int(v) for v in r.integers(4, 9, 2))
        pad = tuple(int(r.integers(0, kk)) for kk in k)
        oh = (h + 2 * pad[0] - dilation[0] * (k[0] - 1) - 1) // stride[0] + 1
        ow = (w + 2 * pad[1] - dilation[1] * (k[1] - 1) - 1) // stride[1] + 1
        if oh >= 1 and ow >= 1:
            yield k, stride, dilation, h, w, pad, oh, ow


@pytest.mark.parametrize("seed", range(4))
def test_overlap_lag_never_lets_a_layer_read_what_it_overwrote(seed):
    """Any stride, padding, dilation and channel ratio: the kernels' order reads nothing overwritten."""
    r = np.random.default_rng(seed)
    for k, stride, dilation, h, w, pad, oh, ow in _random_windows(r):
        cin, cout = (int(v) for v in r.integers(1, 6, 2))
        x, y = TensorInfo("x", (h, w, cin), Q), TensorInfo("y", (oh, ow, cout), Q)
        lag = raster_overlap_lag(_Window(stride, pad), x, y)
        geometry = (h, w, cin, oh, ow, cout, k, stride, pad, dilation)
        assert _first_clobbered_read(*geometry, lag) is None, (geometry, lag)


def _mobile_like():
    """A strided first conv over the input, depthwise/pointwise pairs (stride 1 and 2), a residual add."""
    b = GraphBuilder("ram_mobile", (20, 10, 4), seed=7)
    x = b.conv(b.input, 16, k=3, stride=2, act="relu")
    for _ in range(4):
        x = b.depthwise(x, k=3, act="relu")
        x = b.conv(x, 16, k=1, act="relu")
    x = b.depthwise(x, k=3, stride=2, act="relu")
    y = b.conv(x, 16, k=1, act="relu")
    x = b.add(x, y, act="relu")
    x = b.pool(x, "avgpool", k=(5, 3), stride=1)
    x = b.reshape(x, (16,))
    return b.graph(b.softmax(b.fc(x, 4)))


def _write(source, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in source.files.items():
        (folder / name).write_text(text)


def _poisoned_c(graph, plan, folder):
    """The model's C, with every arena byte that no live tensor holds overwritten after each layer."""
    source = emit_c(graph, plan, kernels=PORTABLE)
    _write(source, folder)
    p = source.prefix
    model_c = folder / "model.c"
    model_c.write_text(model_c.read_text().replace(f"static int8_t {p}_arena[", f"int8_t {p}_arena["))
    cases = []
    for step, i in enumerate(plan.order):
        live = [b for b in plan.buffers if b.location == "arena" and b.first_op <= step < b.last_op]
        dead, at = [], 0
        for lo, hi in sorted((b.offset, b.offset + b.size) for b in live) + [(plan.arena_bytes, plan.arena_bytes)]:
            if lo > at:
                dead.append(f"memset(&{p}_arena[{at}], {0xA5 ^ (step & 0x3F)}, {lo - at});")
            at = max(at, hi)
        cases.append(f"case {i}: {' '.join(dead)} break;")
    main_c = folder / "main.c"
    main_c.write_text(main_c.read_text() + f"\nextern int8_t {p}_arena[];\n"
                      "void pocketml_profile_layer(int32_t op);\n"
                      "void pocketml_profile_layer(int32_t op) {\n  switch (op) {\n  "
                      + "\n  ".join(cases) + "\n  default: break;\n  }\n}\n")
    return build_host(folder, CFLAGS + " -DPOCKETML_PROFILE -fsanitize=address,undefined -fno-sanitize-recover=all")


@pytest.mark.parametrize("input_in_arena", [False, True])
def test_poisoned_freed_bytes_change_nothing(tmp_path, input_in_arena):
    graph = _mobile_like()
    plan = plan_memory(graph, input_in_arena=input_in_arena)
    speed = plan_memory(graph, moves=False)
    strided = {op.name for op in graph.ops if getattr(op, "stride", (1, 1)) != (1, 1) and op.kind != "avg_pool2d"}
    assert strided & set(plan.in_place_ops), "no strided layer written over its input: the test checks nothing"
    assert plan.moves, "no recentred layer: the test checks nothing"
    assert plan.arena_bytes < speed.arena_bytes
    if input_in_arena:
        assert plan.buffer_of(graph.input).location == "arena"
        assert any(op.inputs[0] == graph.input for op in graph.ops if op.name in plan.in_place_ops)
    binary = _poisoned_c(graph, plan, tmp_path / "c")
    x = np.random.default_rng(0).integers(-128, 128, size=(20, *graph.input_info.shape), dtype=np.int8)
    got = run_host(binary, x, graph.output_bytes)
    np.testing.assert_array_equal(got, graph.run(x).reshape(len(x), -1))


def test_input_buffer_entry_skips_the_copy(tmp_path):
    """``<p>_input_buffer()``: the caller writes the input into the arena and invokes in place."""
    graph = _mobile_like()
    source = emit_c(graph, plan_memory(graph, input_in_arena=True))
    p = source.prefix
    assert f"{p}_input_buffer(void);" in source.files["model.h"]
    assert "memcpy" in source.files["model.c"] and "memmove" in source.files["model.c"]
    _write(source, tmp_path / "c")
    main_c = tmp_path / "c" / "main.c"
    text = main_c.read_text().replace(f"if ({p}_invoke(input, output) != 0)",
                                      f"memcpy({p}_input_buffer(), input, sizeof input);\n"
                                      f"    if ({p}_invoke({p}_input_buffer(), output) != 0)")
    assert text != main_c.read_text()
    main_c.write_text(text)
    binary = build_host(tmp_path / "c", CFLAGS + " -fsanitize=address,undefined -fno-sanitize-recover=all")
    x = np.random.default_rng(1).integers(-128, 128, size=(10, *graph.input_info.shape), dtype=np.int8)
    np.testing.assert_array_equal(run_host(binary, x, graph.output_bytes), graph.run(x).reshape(len(x), -1))


def _first_clobbered_slab_read(h, w, c, oh, ow, k, stride, pad, dilation, lag) -> tuple | None:
    """Walk the DSP depthwise kernel (per output row: load the rows its taps reach that are not in
    the slab yet, then write the row) with the output ``lag`` bytes below the input."""
    rows = (k[0] - 1) * dilation[0] + 1
    base = max(lag, 0)
    clobbered = np.zeros(base + h * w * c + max(0, -lag) + oh * ow * c, bool)
    loaded = -1  # the last input row in the slab
    for oy in range(oh):
        for iy in range(max(loaded + 1, oy * stride[0] - pad[0]), oy * stride[0] - pad[0] + rows):
            if 0 <= iy < h and clobbered[base + iy * w * c:base + (iy + 1) * w * c].any():
                return oy, iy
            loaded = max(loaded, iy)
        start = base - lag + oy * ow * c
        clobbered[start:start + ow * c] = True
    return None


@pytest.mark.parametrize("seed", range(3))
def test_dsp_depthwise_lag_follows_its_slab(seed):
    from pocketml.ops.depthwise_conv2d.dsp import dsp_overlap_lag

    r = np.random.default_rng(seed)
    for k, stride, dilation, h, w, pad, oh, ow in _random_windows(r):
        c = 4 * int(r.integers(1, 3))

        class _Op:
            weight = np.zeros((1, *k, c), np.int8)

        _Op.stride, _Op.padding, _Op.dilation = stride, pad, dilation
        lag = dsp_overlap_lag(_Op, TensorInfo("x", (h, w, c), Q), TensorInfo("y", (oh, ow, c), Q))
        geometry = (h, w, c, oh, ow, k, stride, pad, dilation)
        assert _first_clobbered_slab_read(*geometry, max(lag, 0)) is None, (geometry, lag)
        assert lag <= raster_overlap_lag(_Op, TensorInfo("x", (h, w, c), Q), TensorInfo("y", (oh, ow, c), Q))


@needs_qemu
def test_ram_plan_runs_exact_in_qemu(tmp_path):
    """The RAM plan on a Cortex-M4: DSP kernels with their scratch inside the arena, their own lags,
    the input in the arena and some layers moved to the portable kernels; QEMU equals the reference."""
    graph = _mobile_like()
    target = KernelTarget(True, "speed")
    needs = kernel_needs(graph, target)
    assert any(n.scratch for n in needs.values()) and any(n.lag is not None and n.lag <= 0 for n in needs.values())
    blocked = kernel_needs(graph, target, scratch_limit=256)  # depthwise slabs in channel blocks of 4
    plans = {"ram": (plan_memory(graph, input_in_arena=True, kernels=needs), None),
             "blocked": (plan_memory(graph, input_in_arena=True, kernels=blocked), 256),
             "fallback": (plan_memory(graph, input_in_arena=True, kernels=needs, fallback=1.0), None)}
    assert plans["fallback"][0].portable_ops, "no layer moved to the portable kernels: the test checks less"
    assert plans["blocked"][0].arena_bytes < plans["ram"][0].arena_bytes
    x = np.random.default_rng(2).integers(-128, 128, size=(6, *graph.input_info.shape), dtype=np.int8)
    for name, (plan, limit) in plans.items():
        source = emit_c(graph, plan, kernels=target, scratch_limit=limit)
        assert (".block = 4," in source.files["model.c"]) == (name == "blocked")
        assert "_dsp_scratch[" not in source.files["model.c"] and "_arena_words" in source.files["model.c"]
        _write(source, tmp_path / name)
        run = run_qemu(build_cortexm(tmp_path / name, "cortex-m4f", tmp_path / f"{name}-build"), x)
        np.testing.assert_array_equal(run.outputs, graph.run(x).reshape(len(x), -1), err_msg=name)


@needs_qemu
def test_compile_with_the_ram_plan(tmp_path):
    """``compile_tflite(memory="ram")`` (``pocketml compile --memory ram``): the board's C gets the RAM
    plan, runs exact in QEMU, and its arena holds the input and the kernels' scratch."""
    from pocketml.pipeline.from_tflite import compile_tflite

    graph = _mobile_like()
    path = tmp_path / "mobile.tflite"
    path.write_bytes(spec_of(graph).serialise())
    result = compile_tflite(path, "nucleo_l476rg", tmp_path / "out", samples=8, report=False, memory="ram")
    stage = next(s for s in result.stages if s.name == "deploy-cortexm").figures
    assert stage["memory"] == "ram" and stage["qemu_mismatches"] == 0 and result.c_mismatches == 0
    model_c = (tmp_path / "out" / "c-dsp" / "model.c").read_text()
    assert "_input_buffer(void)" in model_c and "_dsp_scratch[" not in model_c


def test_memory_options_are_checked_before_any_work():
    from pocketml.errors import PocketMLError
    from pocketml.pipeline.plans import check_memory

    check_memory("balanced", 12.5)
    for memory, budget, needle in (("fast", None, "unknown memory plan"), ("speed", 10.0, "--memory balanced"),
                                   ("balanced", 0.0, "positive")):
        with pytest.raises(PocketMLError, match=needle):
            check_memory(memory, budget)


@needs_qemu
def test_balanced_takes_the_smallest_ram_within_the_latency_budget():
    """Every candidate built and run in QEMU; the chosen one is the smallest RAM among those within the
    budget; a budget under the fastest plan is refused, naming the fastest plan's latency."""
    from pocketml.devices import find_device, load_catalogue
    from pocketml.errors import PocketMLError
    from pocketml.pipeline.plans import search_plans

    graph = _mobile_like()
    board = find_device("nucleo_l476rg", load_catalogue())
    x = np.random.default_rng(3).integers(-128, 128, size=(2, *graph.input_info.shape), dtype=np.int8)
    target = KernelTarget(True, "speed")
    search = search_plans(graph, board, target, None, x, None)
    labels = [c.label for c in search.candidates]
    assert labels[:2] == ["speed", "ram"] and all(c.instructions for c in search.candidates)
    speed = search.candidates[0]
    assert search.max_latency_ms == pytest.approx(1.1 * speed.latency_ms)
    within = [c for c in search.candidates if c.latency_ms <= search.max_latency_ms]
    assert search.chosen.ram_bytes == min(c.ram_bytes for c in within) < speed.ram_bytes
    tight = search_plans(graph, board, target, None, x, speed.latency_ms)
    assert tight.chosen.latency_ms <= speed.latency_ms and tight.budget_source == "--max-latency"
    with pytest.raises(PocketMLError, match=r"raise --max-latency"):
        search_plans(graph, board, target, None, x, 0.5 * speed.latency_ms)


@needs_qemu
def test_a_board_that_fits_only_with_the_ram_plan(tmp_path):
    """The one fit rule (devices/footprint.py) on the board's build: a board with SRAM between the two
    plans' RAM refuses the speed plan and takes the RAM plan; report.html draws the board's plan."""
    from dataclasses import replace

    from pocketml.devices import find_device, load_catalogue
    from pocketml.pipeline.from_tflite import compile_tflite

    graph = _mobile_like()
    path = tmp_path / "mobile.tflite"
    path.write_bytes(spec_of(graph).serialise())
    board = find_device("nucleo_l432kc", load_catalogue())
    runs = {m: compile_tflite(path, board, tmp_path / m, samples=4, report=False, memory=m) for m in ("speed", "ram")}
    assert runs["ram"].ram_bytes < runs["speed"].ram_bytes
    small = replace(board, sram_bytes=(runs["ram"].ram_bytes + runs["speed"].ram_bytes) // 2)
    fits = {m: compile_tflite(path, small, tmp_path / f"small-{m}", samples=4, report=m == "ram", memory=m)
            for m in ("speed", "ram")}
    assert not fits["speed"].fits and "RAM: needs" in fits["speed"].fit_reason and fits["ram"].fits
    stage = next(s for s in fits["ram"].stages if s.name == "deploy-cortexm").figures
    assert fits["ram"].memory.arena_bytes == stage["board_arena_bytes"] != fits["ram"].arena_bytes
    assert "c-dsp/" in fits["ram"].memory.build and "memory plan ram" in fits["ram"].memory.build
    assert "memory plan ram" in (tmp_path / "small-ram" / "report.html").read_text()


def test_shrink_takes_the_memory_plan(tmp_path):
    """``shrink(memory=...)`` (``pocketml shrink --memory``): the host C gets the RAM plan's input buffer."""
    import torch

    from pocketml.pipeline import shrink

    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 12)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).eval()
    result = shrink(model, x, (x, y), "pico", tmp_path / "ram", name="mlp", report=False, memory="ram")
    assert result.c_mismatches == 0 and "memory plan ram" in result.memory.build
    assert "mlp_input_buffer(void)" in (tmp_path / "ram" / "c" / "model.h").read_text()
