"""The fast C kernels: folded bias, HWIO conv weights, channel blocks, vectorised loops, side-by-side timing.

The kernels may compute differently from the numpy reference (graph/ops) but never a different
bit: every configuration here runs through check_op (C == reference under ASan/UBSan), with
channel counts that exercise both the 16-channel blocks and the channels left over after them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pytest
from check_op import check_op
from torch import nn

from pocketml.compress.encoding import encode
from pocketml.deploy.c.kernel_params import folded_bias, stored_encoding, stored_weights
from pocketml.errors import PocketMLError

CONFIGS = {  # (module, input shape): >= 16 channels, so whole blocks and leftovers both run
    "conv-20ch-stride2-padded": (lambda: nn.Sequential(nn.Conv2d(3, 20, 3, stride=2, padding=1), nn.ReLU()),
                                 (3, 9, 8)),
    "conv-32ch-dilated-rect": (lambda: nn.Conv2d(17, 32, (3, 2), padding=(2, 1), dilation=(2, 1)), (17, 7, 6)),
    "conv1x1-48ch": (lambda: nn.Conv2d(16, 48, 1), (16, 4, 5)),
    "dwconv-18ch-padded": (lambda: nn.Sequential(nn.Conv2d(18, 18, 3, padding=1, groups=18), nn.ReLU6()),
                           (18, 6, 5)),
    "dwconv-32ch-stride2": (lambda: nn.Conv2d(32, 32, (3, 3), stride=2, padding=1, groups=32), (32, 7, 7)),
    "dwconv-mult2-16ch": (lambda: nn.Conv2d(8, 16, 3, padding=1, groups=8), (8, 5, 5)),
    "linear-40": (lambda: nn.Sequential(nn.Linear(70, 40), nn.ReLU()), (70,)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_blocked_kernels_equal_the_reference(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path, n=24)  # asserts C == reference byte for byte
    assert errors["max_err_lsb"] < 6.0, errors


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
    stored = stored_encoding(enc, op)
    assert stored.format == fmt and stored.nbytes == enc.nbytes
    assert np.array_equal(stored.decode(), stored_weights(op).ravel())
    assert np.array_equal(stored_weights(op), np.transpose(w, (1, 2, 3, 0)))
    fc = SimpleNamespace(kind="fully_connected", name="fc", weight=w.reshape(6, -1))
    assert stored_encoding(enc, fc) is enc and stored_weights(fc) is fc.weight


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_inner_loops_vectorise_at_the_artifacts_O2(tmp_path):
    """The speed comes from fixed-length channel blocks that gcc (>= 12) vectorises at -O2."""
    version = subprocess.run(["gcc", "-dumpversion"], capture_output=True, text=True).stdout.strip()
    if int(version.split(".")[0]) < 12:
        pytest.skip(f"gcc {version} does not vectorise at -O2")
    runtime = resources.files("pocketml.deploy.c") / "runtime"
    for name in ("pocketml_dot.h", "pocketml_fixedpoint.h", "pocketml_ops.h", "conv2d.c",
                 "depthwise_conv2d.c", "fully_connected.c"):
        (tmp_path / name).write_text((runtime / name).read_text())
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
