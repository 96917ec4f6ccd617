"""pocketml never removes a file it did not write (issue 17, item 1): the OUT folder rules.

The rules are tested on ``OutputFolder`` itself (fast, every case), then end to end: ``pocketml
compile`` through the real entry point into a folder holding the user's thesis and notes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pocketml.errors import PocketMLError
from pocketml.outputs import MANIFEST, STAGING_PREFIX, OutputFolder, read_manifest, write_atomic


def run_into(out: Path, files: dict[str, str], force: bool = False) -> None:
    with OutputFolder(out, force=force, command="test").stage() as work:
        for name, text in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text)


def user_files(out: Path) -> None:
    (out / "notes").mkdir(parents=True)
    (out / "thesis.txt").write_text("four years of work")
    (out / "notes" / "a.md").write_text("mine")


def test_new_folder_gets_files_and_a_manifest(tmp_path):
    out = tmp_path / "a" / "b"
    run_into(out, {"result.json": "{}", "c/model.c": "int x;"})
    assert (out / "result.json").read_text() == "{}"
    assert read_manifest(out) == {"result.json", "c/model.c"}
    assert not list(out.glob(STAGING_PREFIX + "*"))


def test_folder_with_user_files_is_refused_and_untouched(tmp_path):
    out = tmp_path / "d"
    user_files(out)
    with pytest.raises(PocketMLError) as err:
        run_into(out, {"result.json": "{}"})
    assert "thesis.txt" in err.value.problem and "--force" in err.value.fix
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["notes", "notes/a.md", "thesis.txt"]


def test_force_writes_beside_user_files_and_keeps_them(tmp_path):
    out = tmp_path / "d"
    user_files(out)
    run_into(out, {"result.json": "1", "c/model.c": "old"}, force=True)
    run_into(out, {"result.json": "2"})  # now a pocketml output: no --force needed
    assert (out / "thesis.txt").read_text() == "four years of work"
    assert (out / "notes" / "a.md").read_text() == "mine"
    assert (out / "result.json").read_text() == "2"
    assert not (out / "c").exists()  # ours, not written this time: removed with its empty folder
    assert read_manifest(out) == {"result.json"}


def test_user_file_added_to_a_pocketml_folder_survives_a_rerun(tmp_path):
    out = tmp_path / "d"
    run_into(out, {"result.json": "1", "c/model.c": "x"})
    (out / "c" / "my_main.c").write_text("user code")
    (out / "checkpoint.npz").write_bytes(b"weights")
    run_into(out, {"result.json": "2", "c/model.c": "y"})
    assert (out / "c" / "my_main.c").read_text() == "user code"
    assert (out / "checkpoint.npz").read_bytes() == b"weights"
    assert (out / "c" / "model.c").read_text() == "y"


def test_user_file_at_an_output_path_stops_the_run_and_changes_nothing(tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "result.json").write_text("the user's")
    with pytest.raises(PocketMLError) as err:
        run_into(out, {"result.json": "ours", "report.html": "x"}, force=True)
    assert "result.json" in err.value.problem
    assert (out / "result.json").read_text() == "the user's"
    assert not (out / "report.html").exists() and not (out / MANIFEST).exists()


def test_failure_leaves_the_previous_output_whole(tmp_path):
    out = tmp_path / "d"
    run_into(out, {"result.json": "1"})
    with pytest.raises(RuntimeError), OutputFolder(out).stage() as work:
        (work / "result.json").write_text("half")
        raise RuntimeError("the run failed")
    assert (out / "result.json").read_text() == "1"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "result.json"]


def test_failure_in_a_new_folder_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError), OutputFolder(tmp_path / "new").stage():
        raise RuntimeError("boom")
    assert not (tmp_path / "new").exists()


def test_out_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(PocketMLError, match="is under .* a file"):
        OutputFolder(tmp_path / "f" / "out").check()


def test_damaged_manifest_is_not_trusted(tmp_path):
    out = tmp_path / "d"
    run_into(out, {"result.json": "1"})
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(PocketMLError, match="damaged"):
        run_into(out, {"result.json": "2"})


def test_manifest_entries_outside_out_are_ignored(tmp_path):
    out = tmp_path / "d"
    run_into(out, {"result.json": "1"})
    (tmp_path / "victim.txt").write_text("keep me")
    write_atomic(out / MANIFEST, json.dumps({"files": ["result.json", "../victim.txt", "/etc/passwd"]}))
    run_into(out, {"result.json": "2"})
    assert (tmp_path / "victim.txt").read_text() == "keep me"


def test_nested_command_output_commits_with_the_outer_one(tmp_path):
    """federate --device: shrink writes into federate's staging folder; one manifest at the end."""
    out = tmp_path / "fed"
    with OutputFolder(out, command="federate").stage() as work:
        run_into(work, {"result.json": "{}", "c/model.c": "x"})
        (work / "federated.json").write_text("{}")
    assert read_manifest(out) == {"result.json", "c/model.c", "federated.json"}


def test_abandoned_staging_of_a_dead_process_is_cleaned(tmp_path):
    out = tmp_path / "d"
    run_into(out, {"result.json": "1"})
    dead = out / f"{STAGING_PREFIX}old"
    dead.mkdir()
    (dead / ".pocketml-staging").write_text("999999999")  # no such process
    foreign = out / f"{STAGING_PREFIX}unmarked"
    foreign.mkdir()  # no marker: not provably ours
    run_into(out, {"result.json": "2"})
    assert not dead.exists() and foreign.exists()


def _tiny_tflite(path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from tflite_models import GraphBuilder, spec_of

    b = GraphBuilder("hello", (4, 4, 2))
    graph = b.graph(b.fc(b.reshape(b.conv(b.input, 3, k=3, mode="same", act="relu"), (48,)), 4))
    path.write_bytes(spec_of(graph).serialise())


def _pocketml(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from pocketml.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_compile_into_a_folder_with_the_users_thesis(tmp_path):
    """The issue's reproduction, through the real entry point: refused without --force; with it the
    thesis and the notes survive, and a rerun replaces only pocketml's files."""
    model = tmp_path / "hello.tflite"
    _tiny_tflite(model)
    out = tmp_path / "d"
    user_files(out)
    refused = _pocketml("compile", str(model), "--out", str(out), "--samples", "5", cwd=tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "thesis.txt" in refused.stderr and not (out / "result.json").exists()
    for _ in range(2):
        done = _pocketml("compile", str(model), "--out", str(out), "--samples", "5", "--force", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (out / "thesis.txt").read_text() == "four years of work"
    assert (out / "notes" / "a.md").read_text() == "mine"
    assert (out / "result.json").exists() and (out / "c" / "model.c").exists()
    assert "thesis.txt" not in read_manifest(out)


def test_sigterm_cleans_the_staging_folder(tmp_path):
    """SIGTERM during a run is handled like Ctrl-C: no .pocketml-staging-* is left behind."""
    model = tmp_path / "hello.tflite"
    _tiny_tflite(model)
    out = tmp_path / "d"
    proc = subprocess.Popen([sys.executable, "-c", "from pocketml.cli import main; main()", "compile", str(model),
                             "--out", str(out), "--samples", "5"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob(STAGING_PREFIX + "*")) and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the compile finished before it could be interrupted")
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not out.exists() or not list(out.glob(STAGING_PREFIX + "*"))
