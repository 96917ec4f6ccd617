"""Cortex-M back end: cross-compiled digits-cnn runs in QEMU byte-exact, with sizes from the toolchain."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from pocketml import PocketMLError
from pocketml.deploy.c import emit_c
from pocketml.deploy.cortexm import build_cortexm, measure_cortexm, measure_for_device, run_qemu, toolchain_available
from pocketml.deploy.cortexm.build import _deepest
from pocketml.graph.planner import plan_memory

needs_toolchain = pytest.mark.skipif(not toolchain_available(need_qemu=True),
                                     reason="run `make cortexm-toolchain` (make test does)")


@pytest.fixture(scope="module")
def digits_c(digits_qgraph, digits_trained, tmp_path_factory):
    """(c_dir, quantized test inputs, reference outputs, emitted source) for digits-cnn."""
    _, data = digits_trained
    plan = plan_memory(digits_qgraph)
    source = emit_c(digits_qgraph, plan, "digits_cnn")
    c_dir = tmp_path_factory.mktemp("cortexm") / "c"
    c_dir.mkdir()
    for name, text in source.files.items():
        (c_dir / name).write_text(text)
    x_q = digits_qgraph.quantize_input(data.test.x)
    ref = digits_qgraph.run(x_q).reshape(len(x_q), -1)
    return c_dir, x_q, ref, source, plan


@needs_toolchain
def test_qemu_outputs_equal_the_reference_byte_for_byte(digits_c):
    c_dir, x_q, ref, source, plan = digits_c
    report = measure_cortexm(c_dir, "cortex-m4f", x_q[:60], ref[:60])
    assert report.qemu_samples == 60 and report.qemu_mismatches == 0
    # a portable C MAC loop is a handful of instructions per MAC: the count must be in that range
    macs = 309_248
    assert 3 * macs < report.instructions_per_inference < 40 * macs
    assert report.instructions_max - report.instructions_min <= 200  # same work for every input
    assert report.cpu_flags == "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard"


@needs_toolchain
def test_sizes_come_from_the_cross_build(digits_c, tmp_path):
    c_dir, x_q, ref, source, plan = digits_c
    build = build_cortexm(c_dir, "cortex-m4f", tmp_path / "b")
    s = build.sections
    assert s[".bss"] == plan.arena_bytes  # the one static arena, nothing else in RAM
    assert s.get(".data", 0) == 0
    # constants: every weight byte is in .rodata, plus the small op-parameter structs
    assert source.const_bytes <= s[".rodata"] <= source.const_bytes + 1024
    assert 200 < s[".text"] < 4096  # three kernels and the op sequence, Thumb-2 -Os
    assert build.flash_bytes == s[".text"] + s[".rodata"] + s.get(".data", 0)
    # static bound: the deepest call path, invoke -> conv2d -> the static helpers of conv2d.c that GCC
    # did not inline (which ones depends on the compiler: at most all of them on the path)
    frames = build.stack_frames  # static functions are named "path/file.c:function"
    path = frames["digits_cnn_invoke"] + frames["pocketml_conv2d"]
    helpers = sum(v for k, v in frames.items() if k.rpartition(":")[0].endswith("/conv2d.c"))
    assert path <= build.stack_bound_bytes <= path + helpers
    report = measure_cortexm(c_dir, "cortex-m4f", x_q[:4], ref[:4])
    assert 0 < report.stack_measured_bytes <= report.stack_bound_bytes
    assert report.ram_bytes == s[".bss"] + report.stack_bytes + 64 + 10  # + 64 B input, 10 B output
    # the harness is excluded: the firmware ELF is bigger than the measured model
    assert build.firmware.stat().st_size > build.model_elf.stat().st_size


@needs_toolchain
def test_cortex_m0plus_and_m7_builds(digits_c):
    c_dir, x_q, ref, *_ = digits_c
    m0 = measure_cortexm(c_dir, "cortex-m0plus", x_q[:5], ref[:5])
    assert m0.qemu_samples == 5 and m0.qemu_mismatches == 0  # Armv6-M code runs on the M4 model
    m7 = measure_cortexm(c_dir, "cortex-m7f", x_q[:5], ref[:5])
    assert m7.qemu_samples == 0 and m7.instructions_per_inference is None and "not run" in m7.qemu_note
    assert m7.flash_bytes > 0 and m7.cpu_flags.startswith("-mcpu=cortex-m7")


@needs_toolchain
def test_shrink_reports_the_cortexm_figures(nano_result):
    result, out = nano_result
    doc = json.loads((out / "result.json").read_text())
    cm = doc["cortexm"]
    assert cm["core"] == "cortex-m4f" and cm["qemu_samples"] == doc["n_test"] == 360
    assert cm["qemu_mismatches"] == 0
    assert doc["flash_bytes"] == cm["flash_bytes"] and doc["ram_bytes"] == cm["ram_bytes"]
    assert "arm-none-eabi" in doc["flash_method"]
    assert "instruction count" in cm["instructions_method"] and cm["estimate"] is True
    assert doc["fits"] is True and f"{cm['flash_bytes']:,}" in doc["fit_reason"]


@needs_toolchain
def test_firmware_rejects_a_truncated_input_file(digits_c, tmp_path):
    """The harness's own check: a record cut short makes it exit with status 3, reported by name."""
    c_dir, x_q, *_ = digits_c
    build = build_cortexm(c_dir, "cortex-m4f", tmp_path / "b")
    lying = dataclasses.replace(build, input_bytes=63)  # 3 x 63 bytes = 64 + 64 + 61: the last is short
    with pytest.raises(PocketMLError, match="ends inside a record"):
        run_qemu(lying, np.zeros((3, 63), dtype=np.int8))
    with pytest.raises(PocketMLError, match="64 int8 values"):
        run_qemu(build, np.zeros((2, 7), dtype=np.int8))
    with pytest.raises(PocketMLError, match="int8"):
        run_qemu(build, np.zeros((2, 64), dtype=np.float32))


def test_missing_toolchain_names_the_make_target(digits_c, monkeypatch, tmp_path):
    c_dir, x_q, ref, *_ = digits_c
    monkeypatch.setenv("PATH", str(tmp_path))  # no arm-none-eabi-gcc, no qemu
    with pytest.raises(PocketMLError) as err:
        build_cortexm(c_dir, "cortex-m4f", tmp_path / "b")
    assert "arm-none-eabi-gcc" in err.value.problem and "make cortexm-toolchain" in err.value.fix
    assert measure_for_device(c_dir, "cortex-m4f", x_q[:2], ref[:2]) is None  # shrink falls back to host


def test_unknown_core_and_missing_header(tmp_path):
    with pytest.raises(PocketMLError, match="not a Cortex-M core"):
        build_cortexm(tmp_path, "avr8")
    assert measure_for_device(tmp_path, "avr8", np.zeros((1, 1), np.int8), np.zeros((1, 1), np.int8)) is None
    if toolchain_available():
        with pytest.raises(PocketMLError, match="no model.h"):
            build_cortexm(tmp_path, "cortex-m4")


def test_stack_bound_is_the_deepest_call_path():
    frames = {"invoke": 8, "conv": 80, "fc": 36, "helper": 16}
    edges = {"invoke": {"conv", "fc"}, "fc": {"helper"}}
    assert _deepest("invoke", frames, edges) == 88  # 8 + max(80, 36 + 16)
    assert _deepest("invoke", frames, {"invoke": {"conv"}, "conv": {"invoke"}}) is None  # recursion


@needs_toolchain
def test_shrink_builds_the_dsp_kernels_for_an_m4_board_and_profiles_them(nano_result):
    """nano33ble has a Cortex-M4F: OUT/c-dsp/ holds its C (DSP kernels, built for speed), checked in
    QEMU on every test input; OUT/c/ stays the portable C the host runs; the layers add up."""
    result, out = nano_result
    doc = json.loads((out / "result.json").read_text())
    cm = doc["cortexm"]
    assert doc["files"]["c_board"] == "c-dsp/" and (out / "c-dsp" / "conv2d_dsp.h").is_file()
    assert "conv2d_dsp.h" not in {p.name for p in (out / "c").iterdir()}  # c/ is the portable C
    assert cm["kernels"] == "dsp-speed" and cm["opt"] == "-O2" and cm["qemu_mismatches"] == 0
    layers = cm["layers"]
    assert [row["name"] for row in layers] == [row["name"] for row in doc["layers"] if row["kind"] != "reshape"]
    total = sum(row["instructions"] for row in layers)
    assert abs(total - cm["instructions_per_inference"]) <= 40 * len(layers) + 200  # timer calls
    assert abs(sum(row["share"] for row in layers) - 1) < 1e-3
    conv = max((row for row in layers if row["kind"] == "conv2d"), key=lambda row: row["macs"])
    assert conv["instructions_per_mac"] < 2  # SMLAD: well under the portable C's 10+
    stage = next(s for s in doc["stages"] if s["name"] == "deploy-cortexm")
    assert "fit in half" in stage["kernels_reason"]


@needs_toolchain
def test_profile_command_prints_every_layer(nano_result, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from pocketml.cli import app
    from pocketml.deploy.cortexm.profile import profile_output

    _, out = nano_result
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    doc = json.loads((copy / "result.json").read_text())
    del doc["cortexm"]["layers"]
    (copy / "result.json").write_text(json.dumps(doc))
    prof = profile_output(copy)  # updates result.json: pocketml wrote it (the manifest says so)
    assert json.loads((copy / "result.json").read_text())["cortexm"]["layers"] == prof.to_dict()["layers"]
    assert prof.kernels == "dsp-speed" and prof.c_dir == "c-dsp" and prof.clock_mhz == 64.0
    res = CliRunner().invoke(app, ["profile", str(copy), "--json", "--no-update"])
    assert res.exit_code == 0, res.output
    printed = json.loads(res.output)
    assert printed["instructions"] == prof.total and len(printed["layers"]) == len(prof.layers)
    res = CliRunner().invoke(app, ["profile", str(tmp_path / "nowhere")])
    assert res.exit_code == 1 or isinstance(res.exception, PocketMLError)
