"""shrink end to end: the issue's acceptance figures, result.json contract, bad input, atomicity."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from pocketml import PocketMLError, shrink
from pocketml.deploy.c import build_host, run_host
from pocketml.models import get_builtin

CONTRACT = {"device", "model", "n_test", "accuracy", "size_bytes", "arena_bytes", "c_mismatches", "fits",
            "fit_reason", "input", "output"}


def test_digits_cnn_meets_the_spine_targets(nano_result):
    result, _ = nano_result
    assert result.n_test == 360
    assert result.accuracy["int8"] >= result.accuracy["float"] - 0.01
    assert result.accuracy["float"] > 0.95
    assert result.c_mismatches == 0
    assert result.accuracy["c"] == result.accuracy["int8"]
    assert result.size_bytes["float32"] / result.size_bytes["int8"] >= 3.5
    assert result.fits, result.fit_reason


def test_result_json_contract(nano_result):
    result, out = nano_result
    doc = json.loads((out / "result.json").read_text())
    assert CONTRACT <= set(doc)
    assert set(doc["accuracy"]) == {"float", "int8", "c"}
    assert {"float32", "int8"} <= set(doc["size_bytes"])  # keys are only ever added (e.g. deployed)
    for key in ("input", "output"):
        assert set(doc[key]) == {"shape", "scale", "zero_point"}
    assert doc["input"]["shape"] == [8, 8, 1] and doc["output"]["shape"] == [10]
    assert doc["device"] == "nano33ble" and isinstance(doc["fits"], bool)
    assert doc["estimate"]["estimate"] is True
    assert (out / "report.html").is_file() and (out / "c" / "model.c").is_file()


def test_report_is_self_contained(nano_result):
    _, out = nano_result
    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 3  # accuracy, bytes per layer, memory plan
    # nothing is loaded from elsewhere: no external src/href, stylesheets or imports
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "<script" not in page
    assert "estimate" in page


def test_harness_contract_make_builds_run_model(nano_result, digits_qgraph):
    """`make -C OUT/c` builds OUT/c/run_model: raw int8 inputs on stdin, raw int8 outputs on stdout."""
    _, out = nano_result
    c = out / "c"
    (c / "run_model").unlink(missing_ok=True)
    subprocess.run(["make", "-s", "-C", str(c)], check=True)
    x = np.random.default_rng(0).integers(-128, 128, size=(5, 8, 8, 1)).astype(np.int8)
    proc = subprocess.run([str(c / "run_model")], input=x.tobytes(), capture_output=True, check=True)
    got = np.frombuffer(proc.stdout, np.int8).reshape(5, 10)
    assert np.array_equal(got, digits_qgraph.run(x))


@pytest.mark.parametrize("case, status, message", [
    ("truncated", 5, "input 2 is truncated: 30 of 64 bytes"),
    ("closed-stdin", 4, "cannot read input 0 from stdin"),
    ("full-disk", 3, "cannot write"),
    ("closed-stdout", 3, "cannot write"),
])
def test_harness_reports_bad_io_on_stderr_with_nonzero_exit(nano_result, tmp_path, case, status, message):
    """Issue #17.13: run_model never loses an input or an output silently."""
    _, out = nano_result
    binary = out / "c" / "run_model"
    if not binary.exists():
        subprocess.run(["make", "-s", "-C", str(out / "c")], check=True)
    data = tmp_path / "in.bin"
    n_bytes = 2 * 64 + (30 if case == "truncated" else 0)
    data.write_bytes(np.random.default_rng(0).integers(-128, 128, n_bytes).astype(np.int8).tobytes())
    redirect = {"truncated": f"< {data} > /dev/null", "closed-stdin": "<&- > /dev/null",
                "full-disk": f"< {data} > /dev/full", "closed-stdout": f"< {data} >&-"}[case]
    if case == "full-disk" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    proc = subprocess.run(["sh", "-c", f"'{binary}' {redirect}"], capture_output=True, text=True)
    assert proc.returncode == status and message in proc.stderr, (proc.returncode, proc.stderr)


def test_generated_c_is_clean_under_sanitizers(nano_result, digits_trained, digits_qgraph, tmp_path):
    _, out = nano_result
    _, data = digits_trained
    for f in (out / "c").iterdir():
        if f.suffix in (".c", ".h") or f.name == "Makefile":
            (tmp_path / f.name).write_text(f.read_text())
    binary = build_host(tmp_path, cflags="-std=c99 -Wall -Wextra -Werror -O1 -g "
                                         "-fsanitize=address,undefined -fno-sanitize-recover=all")
    xq = digits_qgraph.quantize_input(data.test.x)
    assert np.array_equal(run_host(binary, xq, 10), digits_qgraph.run(xq))


def test_generated_c_uses_no_dynamic_memory(nano_result):
    _, out = nano_result
    for f in (out / "c").glob("*.[ch]"):
        text = f.read_text()
        assert "malloc" not in text and "calloc" not in text and "free(" not in text, f.name


def test_uno_does_not_fit_and_says_why(digits_trained, tmp_path):
    model, data = digits_trained
    result = shrink(model, data.train.x, data.test, "uno", tmp_path / "uno", name="digits-cnn", report=False)
    assert result.fits is False
    assert "RAM" in result.fit_reason and "2,048" in result.fit_reason and "over by" in result.fit_reason
    assert json.loads((tmp_path / "uno" / "result.json").read_text())["fits"] is False


def _no_leftovers(parent):
    return [p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


@pytest.mark.parametrize("case,needle", [
    ("nan", "NaN"), ("shape", "shape"), ("empty", "empty"), ("labels", "labels"), ("device", "did you mean"),
])
def test_bad_input_is_named_and_writes_nothing(digits_trained, tmp_path, case, needle):
    model, data = digits_trained
    calib, test_x, test_y, device = data.train.x.copy(), data.test.x.copy(), data.test.y, "nano33ble"
    if case == "nan":
        calib[3, 0, 2, 2] = np.nan
    elif case == "shape":
        test_x = test_x[:, :, :7, :]
    elif case == "empty":
        calib = calib[:0]
    elif case == "labels":
        test_y = test_y[:-1]
    elif case == "device":
        device = "nano33"
    out = tmp_path / "out"
    with pytest.raises(PocketMLError, match=needle) as info:
        shrink(model, calib, (test_x, test_y), device, out)
    assert info.value.fix
    assert not out.exists() and not _no_leftovers(tmp_path)


def test_unwritable_output_folder(digits_trained, tmp_path):
    model, data = digits_trained
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PocketMLError, match="a file, not a folder"):
        shrink(model, data.train.x, data.test, "nano33ble", blocker / "out")


def test_failure_keeps_the_previous_output(digits_trained, tmp_path):
    model, data = digits_trained
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text('{"old": true}')
    bad = data.train.x.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(PocketMLError):
        shrink(model, bad, data.test, "nano33ble", out)
    assert json.loads((out / "result.json").read_text()) == {"old": True}
    assert not _no_leftovers(tmp_path)


def test_unsupported_layer_fails_before_writing(tmp_path):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.GELU())
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    with pytest.raises(PocketMLError, match="GELU"):
        shrink(model, x, (x, np.zeros(8, int)), "nano33ble", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_same_seed_same_model():
    spec = get_builtin("digits-cnn")
    a, _ = spec.trained(seed=3, progress=False)
    b, _ = spec.trained(seed=3, progress=False)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_mlp_on_flat_features(tmp_path):
    """A plain MLP on [N, features] data goes through the same path."""
    torch.manual_seed(0)
    r = np.random.default_rng(0)
    x = r.normal(size=(200, 12)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).eval()
    result = shrink(model, x, (x, y), "pico", tmp_path / "mlp", name="tiny mlp", report=False)
    assert result.c_mismatches == 0 and result.input.shape == (12,)
    assert os.path.isfile(tmp_path / "mlp" / "c" / "run_model")
