"""The fast C kernels: folded bias, HWIO conv weights, vectorised loops, side-by-side timing.

The kernels may compute differently from the numpy reference (``op.py``) but never a different
bit: each op folder's tests run configurations with channel counts that exercise both the
16-channel blocks and the channels left over after them through check_op.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pytest

from pocketml.compress.encoding import encode
from pocketml.errors import PocketMLError
from pocketml.ops.c import folded_bias
from pocketml.ops.conv2d.c import stored_weights
from pocketml.ops.registry import kernel_source


def test_folded_bias_is_bias_plus_offset_times_weight_sums():
    r = np.random.default_rng(0)
    w = r.integers(-127, 128, size=(5, 3, 3, 4), dtype=np.int8)  # OHWI
    bias = r.integers(-5000, 5000, size=5).astype(np.int32)
    got = folded_bias(w, bias, 37, channel_axis=0)
    want = bias.astype(np.int64) + 37 * w.reshape(5, -1).astype(np.int64).sum(1)
    assert got.dtype == np.int32 and np.array_equal(got, want)
    dw = np.moveaxis(w, 0, 3)  # [1.., channel last], as DEPTHWISE_CONV_2D stores it
    assert np.array_equal(folded_bias(dw, bias, 37, channel_axis=3), want)


def test_folded_bias_refuses_an_accumulator_that_could_overflow():
    w = np.full((1, 70_000), 127, np.int8)  # 128 * 127 * 70,000 > 2^31
    with pytest.raises(PocketMLError, match="overflow"):
        folded_bias(w, np.zeros(1, np.int32), 128, name="huge")


@pytest.mark.parametrize("fmt", ["dense", "sparse", "huffman"])
def test_compressed_conv_weights_reencode_in_hwio_with_the_same_bytes(fmt):
    r = np.random.default_rng(1)
    w = (r.integers(-7, 8, size=(6, 3, 3, 5)) * (r.random((6, 3, 3, 5)) < 0.4)).astype(np.int8)
    op = SimpleNamespace(kind="conv2d", name="conv", weight=w)
    enc = encode(w, 4, fmt)
    stored = encode(stored_weights(op), 4, fmt)  # what the emitter writes for the HWIO kernel
    assert stored.format == fmt and stored.nbytes == enc.nbytes  # the byte counts compress/ chose by hold
    assert np.array_equal(stored.decode(), stored_weights(op).ravel())
    assert np.array_equal(stored_weights(op), np.transpose(w, (1, 2, 3, 0)))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_inner_loops_vectorise_at_the_artifacts_O2(tmp_path):
    """The speed comes from fixed-length channel blocks that gcc (>= 12) vectorises at -O2."""
    version = subprocess.run(["gcc", "-dumpversion"], capture_output=True, text=True).stdout.strip()
    if int(version.split(".")[0]) < 12:
        pytest.skip(f"gcc {version} does not vectorise at -O2")
    runtime = resources.files("pocketml.deploy.c") / "runtime"
    for name in ("pocketml_dot.h", "pocketml_fixedpoint.h", "pocketml_requant.h", "pocketml_window.h"):
        (tmp_path / name).write_text((runtime / name).read_text())
    for kind in ("conv2d", "depthwise_conv2d", "fully_connected"):
        for name in (f"{kind}.c", f"{kind}.h"):
            (tmp_path / name).write_text(kernel_source(kind, name).read_text())
    for src in ("conv2d.c", "depthwise_conv2d.c", "fully_connected.c"):
        proc = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2",
                               "-fopt-info-vec-optimized", "-c", src, "-o", "/dev/null"],
                              cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert re.search(r"loop vectorized", proc.stderr), f"{src}: no vectorised loop\n{proc.stderr}"


def test_side_by_side_timing_interleaves_and_checks_outputs(nano_result):
    from pocketml.deploy.verify.latency import SideBySide, time_side_by_side

    _, out = nano_result
    x = np.load(out / "verify" / "inputs.npy")[:8]
    t = time_side_by_side(out / "c", out / "model.tflite", x, rounds=3)
    assert len(t.c_seconds) == len(t.tflm_seconds) == 3 and t.samples == 8 and t.same_outputs
    assert min(t.c_seconds) > 0 and min(t.tflm_seconds) > 0
    per_round = [c / f for c, f in zip(t.c_seconds, t.tflm_seconds, strict=True)]
    assert min(per_round) <= t.ratio <= max(per_round)
    # the ratio is the median of the rounds' ratios, not the ratio of the medians: hand-worked rounds
    worked = SideBySide((1.0, 2.0, 9.0), (2.0, 2.0, 3.0), 8, "-O2", True)  # rounds 0.5, 1, 3; medians 2 / 2
    assert worked.ratio == 1.0 and worked.c_median / worked.tflm_median == 1.0
    skewed = SideBySide((1.0, 4.0, 9.0), (2.0, 2.0, 3.0), 8, "-O2", True)  # rounds 0.5, 2, 3; medians 4 / 2
    assert skewed.ratio == 2.0
    assert "-O2" in t.cflags
