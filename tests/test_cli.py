"""The CLI does what the API does: exit codes, JSON, help, user model and data files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import torch


def pocketml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pocketml.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_help_explains_every_command():
    proc = pocketml("--help")
    assert proc.returncode == 0
    for cmd in ("shrink", "devices", "demo", "profile"):
        assert cmd in proc.stdout
    shrink_help = pocketml("shrink", "--help").stdout
    assert "--device" in shrink_help and "--out" in shrink_help and "fits" in shrink_help
    assert "--optimize" in shrink_help and "--optimize" in pocketml("compile", "--help").stdout
    assert "instructions" in pocketml("profile", "--help").stdout



def test_help_texts_survive_rich_markup():
    """--help renders option texts as rich markup, where "[word]" is a style tag that vanishes: every
    option's and command's text must read the same after rendering (write "\\[" for a bracket)."""
    import click
    import typer.main
    from rich.text import Text

    from pocketml.cli.app import app

    def commands(cmd, path=()):
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from commands(sub, (*path, name))

    lost = []
    for path, cmd in commands(typer.main.get_command(app)):
        texts = [cmd.help or ""] + [p.help or "" for p in cmd.params if isinstance(p, click.Option)]
        lost += [(" ".join(path), t) for t in texts if Text.from_markup(t).plain != t.replace("\\[", "[")]
    assert not lost, lost

def test_a_bad_optimize_is_refused_before_any_training(tmp_path):
    proc = pocketml("shrink", "--optimize", "fast", "--out", str(tmp_path / "x"))
    assert proc.returncode == 1 and "--optimize must be one of speed, size" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_unknown_device_exits_nonzero_with_suggestions(tmp_path):
    proc = pocketml("shrink", "--device", "esp32", "--out", str(tmp_path / "x"))
    assert proc.returncode == 1
    assert "unknown device 'esp32'" in proc.stderr and "esp32s3" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_shrink_digits_for_the_uno_reports_not_fitting(tmp_path):
    out = tmp_path / "uno"
    proc = pocketml("shrink", "--model", "digits-cnn", "--device", "uno", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["fits"] is False and "RAM" in doc["fit_reason"]
    assert json.loads((out / "result.json").read_text()) == doc


def test_user_model_file_and_data_file(tmp_path):
    torch.manual_seed(0)
    r = np.random.default_rng(0)
    x = r.normal(size=(64, 1, 6, 6)).astype(np.float32)
    y = r.integers(0, 3, 64)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(64, 3)).eval()
    torch.export.save(torch.export.export(model, (torch.as_tensor(x[:1]),)), tmp_path / "net.pt2")
    np.savez(tmp_path / "data.npz", x_train=x, x_test=x, y_test=y)
    out = tmp_path / "out"
    proc = pocketml("shrink", "--model", str(tmp_path / "net.pt2"), "--data", str(tmp_path / "data.npz"),
                    "--device", "pico", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["c_mismatches"] == 0 and doc["model"] == "net"


def test_corrupt_model_file_is_named(tmp_path):
    bad = tmp_path / "broken.pt2"
    bad.write_bytes(b"PK\x03\x04 this is not a torch.export archive")
    x = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_train=x, x_test=x, y_test=np.zeros(2, int))
    proc = pocketml("shrink", "--model", str(bad), "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 1
    assert "broken.pt2 could not be read" in proc.stderr and "fix:" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_data_file_missing_arrays_is_named(tmp_path):
    np.savez(tmp_path / "d.npz", x_train=np.zeros((2, 3), np.float32))
    torch.export.save(torch.export.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3),)), tmp_path / "m.pt2")
    proc = pocketml("shrink", "--model", str(tmp_path / "m.pt2"), "--data", str(tmp_path / "d.npz"),
                    "--out", str(tmp_path / "o"))
    assert proc.returncode == 1 and "lacks x_test, y_test" in proc.stderr


def test_help_and_devices_import_no_heavy_library():
    """`pocketml --help`, `devices` and `compile --help` answer without torch, scikit-learn, numpy's
    heavy users or Flower (issue 18: help under 0.5 s): checked by module, not by the clock."""
    import subprocess
    import sys

    heavy = ("torch", "sklearn", "flwr", "optuna", "matplotlib", "tflite_micro")
    for args in (["--help"], ["devices"], ["compile", "--help"], ["shrink", "--help"], ["federate", "--help"],
                 ["match-worker", "--help"], ["match-server", "--help"]):
        code = (f"import sys\nsys.argv = ['pocketml', *{args!r}]\nfrom pocketml.cli import main\ntry:\n    main()\n"
                f"except SystemExit:\n    pass\nprint(sorted(m for m in {heavy!r} if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip().splitlines()[-1] == "[]", (args, out.stdout[-300:], out.stderr[-300:])
