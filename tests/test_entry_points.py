"""Every entry point refuses bad input with a clear message and exit 1, never a traceback (issue #17).

CLI cases go through ``pocketml.cli.main`` (the console entry point and its error printer) via the
``cli_main`` fixture, which also fails any run that prints a traceback.
"""

from __future__ import annotations

import io
import sys
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.errors import PocketMLError


# -- #17.8: user text is never read as Rich markup ---------------------------------------------
def test_error_printer_prints_markup_in_paths_verbatim(tmp_path, cli_main):
    out = tmp_path / "[/b]odd [draft]"
    out.mkdir(parents=True)
    (out / "thesis.txt").write_text("mine")
    run = cli_main("compile", tmp_path / "missing.tflite", "--out", out)
    assert run.code == 1 and "error:" in run.err
    run = cli_main("federate", "--clients", "3", "--rounds", "1", "--local-epochs", "1", "--out", out)
    assert run.code == 1 and "[/b]odd [draft]" in run.err and "thesis.txt" in run.err
    assert (out / "thesis.txt").read_text() == "mine"


def test_wrote_line_after_success_prints_markup_verbatim(tmp_path, cli_main):
    out = tmp_path / "[/b]fed [draft]"
    run = cli_main("federate", "--clients", "3", "--rounds", "1", "--local-epochs", "1", "--out", out)
    assert run.code == 0 and f"wrote {out}/federated.json" in run.out.replace("\n", "")
    assert (out / "federated.json").is_file()


# -- #17.11: impossible fleets and OUT paths fail before anything is allocated or written --------
def test_a_hundred_million_clients_are_refused_up_front(tmp_path, cli_main):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run = cli_main("federate", "--clients", "100000000", "--out", tmp_path / "fed")
    assert run.code == 1 and "100000000 clients" in run.err and "at most 1078 clients" in run.err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no 5 GB of node ids
    assert not (tmp_path / "fed").exists()


def test_out_dot_in_a_project_and_out_under_a_file(tmp_path, cli_main, monkeypatch):
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    run = cli_main("federate", "--clients", "3", "--rounds", "1", "--out", ".")
    assert run.code == 1 and "holds files pocketml did not write (notes.txt)" in run.err and "--force" in run.err
    run = cli_main("federate", "--clients", "3", "--rounds", "1", "--out", tmp_path / "notes.txt" / "sub")
    assert run.code == 1 and "which is a file, not a folder" in run.err and "File exists" not in run.err


# -- #17.5 / #17.9 / #17.14: data files and data that do not fit the model ------------------------
def _model_and_data(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)).eval()
    torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 6, 6),)), tmp_path / "net.pt2")
    r = np.random.default_rng(0)
    return r.normal(size=(32, 1, 6, 6)).astype(np.float32), r.integers(0, 3, 32)


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _huge_header_npz(x: np.ndarray, y: np.ndarray) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (6_400_000_000,)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x_train.npy", header.getvalue() + b"\0" * 64)
        z.writestr("x_test.npy", _npy(x))
        z.writestr("y_test.npy", _npy(y))
    return buf.getvalue()


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


DATA_CASES = {  # name: (file bytes from (x, y), words the message must hold)
    "string labels": (lambda x, y: _npz_bytes(x_train=x, x_test=x, y_test=y.astype(str)), "y_test has dtype <U"),
    "one-hot labels": (lambda x, y: _npz_bytes(x_train=x, x_test=x, y_test=np.eye(3)[y]), "one-hot"),
    "scalar labels": (lambda x, y: _npz_bytes(x_train=x, x_test=x, y_test=np.array(1)), "y_test has shape ()"),
    "NaN label": (lambda x, y: _npz_bytes(x_train=x, x_test=x, y_test=np.where(np.arange(32) == 7, np.nan, y)),
                  "NaN or infinite label(s), first at index 7"),
    "float labels": (lambda x, y: _npz_bytes(x_train=x, x_test=x, y_test=y + 0.5), "fractional labels"),
    "negative label": (lambda x, y: _npz_bytes(x_train=x, x_test=x, y_test=y - 1), "negative class id"),
    "label out of range": (lambda x, y: _npz_bytes(x_train=x, x_test=x, y_test=y + 3),
                           "but the model has 3 outputs"),
    "complex inputs": (lambda x, y: _npz_bytes(x_train=x + 1j, x_test=x, y_test=y), "x_train has complex values"),
    "constant inputs": (lambda x, y: _npz_bytes(x_train=np.zeros_like(x), x_test=x, y_test=y), "x_train is constant"),
    ".npy renamed .npz": (lambda x, y: _npy(x), "is a single .npy array"),
    "not a zip": (lambda x, y: b"hello, world" * 10, "not an .npz archive"),
    "corrupted member": (lambda x, y: _corrupt(_npz_bytes(x_train=x, x_test=x, y_test=y)), "could not be read"),
    "6.4e9-float header": (_huge_header_npz, "claims shape (6400000000,)"),
    "x_train shape": (lambda x, y: _npz_bytes(x_train=x[:, :, :4], x_test=x, y_test=y), "x_train has samples of shape"),
    "NHWC data": (lambda x, y: _npz_bytes(x_train=x.transpose(0, 2, 3, 1), x_test=x.transpose(0, 2, 3, 1), y_test=y),
                  "the model does not run on one input tensor of shape (1, 6, 6, 1)"),
    "pickled objects": (lambda x, y: _pickled(x, y), "'y_test' holds Python objects"),
}


def _corrupt(data: bytes) -> bytes:
    b = bytearray(data)
    b[200] ^= 0xFF
    return bytes(b)


def _pickled(x, y) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x_train=x, x_test=x, y_test=np.array([object()] * len(y), dtype=object))
    return buf.getvalue()


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_files_are_named(case, tmp_path, cli_main):
    x, y = _model_and_data(tmp_path)
    make, words = DATA_CASES[case]
    (tmp_path / "d.npz").write_bytes(make(x, y))
    run = cli_main("shrink", "--model", tmp_path / "net.pt2", "--data", tmp_path / "d.npz", "--out", tmp_path / "o")
    assert run.code == 1 and words in run.err and "fix:" in run.err, run.err
    assert "remove data-dependent" not in run.err and "the test set" not in run.err
    assert not (tmp_path / "o").exists()


def test_a_two_input_model_is_not_told_about_control_flow():
    from pocketml.graph.capture import capture

    class TwoInputs(nn.Module):
        def forward(self, a, b):
            return a + b

    with pytest.raises(PocketMLError, match="does not run on one input tensor") as err:
        capture(TwoInputs(), torch.zeros(1, 3))
    assert "control flow" not in str(err.value) and "one tensor" in err.value.fix


def test_api_labels_are_checked_against_the_model_outputs(tmp_path):
    from pocketml import shrink

    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    with pytest.raises(PocketMLError, match=r"test.y has class id 5 at index 0, but the model has 3 outputs"):
        shrink(nn.Linear(4, 3), x, (x, np.full(16, 5)), "pico", tmp_path / "o")
    assert not (tmp_path / "o").exists()


# -- #17.10: a runtime child that crashes or raises becomes one sentence ------------------------
@pytest.mark.parametrize("body, words", [
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "TFLite Micro crashed (SIGSEGV"),
    ("def load():\n    raise RuntimeError('unsupported zero-point value in channel 3')\nload()\n",
     "TFLite Micro failed: RuntimeError: unsupported zero-point value in channel 3"),
])
def test_runtime_child_failures_read_as_one_sentence(body, words, tmp_path, monkeypatch, nano_result):
    from pocketml.deploy.tflite import runtimes

    _, out = nano_result
    worker = tmp_path / "worker.py"
    worker.write_text(body)
    monkeypatch.setattr(runtimes, "WORKER", worker)
    with pytest.raises(PocketMLError) as err:
        runtimes.run_tflite(out / "model.tflite", np.zeros((1, 8, 8, 1), np.int8), "tflm")
    message = str(err.value)
    assert words in message and "exit status" not in message and "regenerate it" in err.value.fix
    assert "Traceback" not in message and 'File "' not in message and "^^^" not in message


def test_child_failure_keeps_the_exception_line_only():
    from pocketml.deploy.process import child_failure

    stderr = ('Traceback (most recent call last):\n  File "w.py", line 3, in <module>\n    load()\n'
              "    ^^^^^^\nValueError: bad tensor 8\n")
    assert child_failure("LiteRT", 1, stderr) == "LiteRT failed: ValueError: bad tensor 8"
    assert child_failure("run_model", -11, "").startswith("run_model crashed (SIGSEGV")
    assert child_failure("run_model", 3, "") == "run_model exited with status 3"


@pytest.mark.skipif(sys.platform != "linux", reason="signals as on Linux")
def test_main_py_entry_point_runs_main(tmp_path):
    """`python -m pocketml.cli` is the same entry point (error printer included)."""
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "pocketml.cli", "shrink", "--model", str(tmp_path / "x.onnx"),
                           "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_verify_names_a_truncated_model_tflite_before_any_runtime(nano_result, tmp_path, cli_main):
    import shutil

    _, out = nano_result
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    data = (copy / "model.tflite").read_bytes()
    (copy / "model.tflite").write_bytes(data[: len(data) // 2])
    run = cli_main("verify", copy, "--no-probe-arena")
    assert run.code == 1 and "is a damaged TFLite flatbuffer" in run.err and "regenerate it" in run.err
    assert "exit status" not in run.err and "make -C" not in run.err
