"""The keyword spotter end to end, small (a few words, a few voices, a tiny model): `pocketml kws ...`."""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import numpy as np
import pytest

from pocketml.deploy.cortexm import toolchain_available


def pocketml(*args):
    return subprocess.run([sys.executable, "-m", "pocketml.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kws")
    out, cache = tmp / "out", tmp / "cache"
    proc = pocketml("kws", "train", "--small", "--out", out, "--cache", cache, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads(proc.stdout), cache


def test_train_checks_c_against_python_everywhere(trained):
    out, doc, _ = trained
    fe = doc["frontend"]
    assert fe["c_clips"] > 50 and fe["c_mismatching_clips"] == 0  # every test and festival clip, every frame
    assert all(s["abs_error_max"] < 0.05 for s in fe["splits"].values())
    assert doc["streams"]["c_exact"] is True and doc["streams"]["streams"][0]["inferences"] > 50
    assert doc["model"]["c_mismatches"] == 0 and doc["model"]["verify"]["exact"] is True  # C, TFLite Micro
    assert set(doc["accuracy"]) == {"train", "val", "test", "festival"}
    assert len(doc["accuracy"]["test"]["confusion"]) == 5  # silence, unknown, yes, no, stop
    if toolchain_available(need_qemu=True):
        m4 = doc["cortexm"]
        assert m4["qemu_exact"] is True and m4["chunks"] > 100
        assert 10_000 < m4["frontend_instructions_per_frame"] < 500_000
        assert m4["model_instructions_per_inference"] > 0 and m4["flash_bytes"] > 8_000 and m4["ram_bytes"] > 4_000
    for name in ("report.html", "model.html", "model.tflite", "kws.json", "result.json", "c/model.c", "kws_c/kws.c",
                 "kws_c/kws_frontend.c", "kws_c/kws_tables.h", "kws_c/Makefile"):
        assert (out / name).is_file(), name
    report = (out / "report.html").read_text()
    assert report.count("<svg") >= 4 and "confusion" in report and "trade-off" in report
    make = subprocess.run(["make", "-s", "-C", str(out / "kws_c")], capture_output=True, text=True)
    assert make.returncode == 0, make.stderr  # the program builds on its own, -Wall -Wextra -Werror


@pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="needs the Arm toolchain and QEMU")
def test_energy_budgets_listening_continuously(trained):
    out, doc, _ = trained
    proc = pocketml("energy", out, "--json")
    assert proc.returncode == 0, proc.stderr
    budget = json.loads(proc.stdout)
    assert budget["workload"]["every_frames"] == 10 and budget["rate_per_second"] == pytest.approx(5.0)
    assert 0 < budget["duty_cycle"] < 1 and budget["lifetime_days"] > 0
    assert budget["cycles_per_inference"] == (10 * doc["cortexm"]["frontend_instructions_per_frame"]
                                              + doc["cortexm"]["model_instructions_per_inference"])
    wrong = pocketml("energy", out, "--rate", "1/min")
    assert wrong.returncode == 1 and "listens continuously" in wrong.stderr


@pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="needs the Arm toolchain and QEMU")
def test_program_with_the_boards_dsp_kernels_matches_python_in_qemu(trained, tmp_path):
    out, doc, cache = trained
    from pocketml.apps.kws import load_dataset, small_spec
    from pocketml.apps.kws.artifact import KwsArtifact
    from pocketml.apps.kws.cortexm import board_program, measure_program

    art = KwsArtifact.load(out)
    test = load_dataset(small_spec(), cache).splits["test"]
    pcm = np.concatenate([test.pcm[i] for i in np.nonzero(test.y >= 2)[0][:4]])  # four keywords, 4 s
    python = [(e.frame, e.label, e.score) for e in art.streaming().run(pcm).events]
    dsp = board_program(out, tmp_path / "kws_c_dsp")
    assert (dsp / "pocketml_dsp.h").is_file() and (dsp / "kws.c").is_file()
    rep = measure_program(dsp, doc["cortexm"]["core"], pcm, art.detector.every_frames, art.frontend.n_frames)
    assert rep.events == python and rep.inferences > 5
    m4 = doc["cortexm"]  # kws train measured the board's program (DSP kernels) and the portable one
    assert m4["program"] == "kws_c-dsp" and "dsp" in m4["build"] and m4["portable"]["qemu_exact"] is True
    assert 0 < rep.model_instructions_per_inference < m4["portable"]["model_instructions_per_inference"]
    assert (out / "kws_c-dsp" / "kws.c").is_file() and not (out / "kws_c-dsp" / "Makefile").exists()
    with pytest.raises(Exception, match="c-dsp"):
        board_program(out, tmp_path / "again", model_c="c-dsp-missing")


def _write_wav(path, pcm, rate=16000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, "<i2").tobytes())


def test_detect_and_evaluate_on_recordings(trained, tmp_path):
    out, doc, cache = trained
    from pocketml.apps.kws import load_dataset, small_spec

    test = load_dataset(small_spec(), cache).splits["test"]
    _write_wav(tmp_path / "talk.wav", np.concatenate(list(test.pcm[::4][:8])))
    proc = pocketml("kws", "detect", tmp_path / "talk.wav", "--model", out, "--threshold", "0.3", "--c", "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["c_exact"] is True and found["inferences"] > 10 and found["seconds"] == pytest.approx(8.0)
    labels = doc["artifact"]["labels"] if "artifact" in doc else ["silence", "unknown", "yes", "no", "stop"]
    for c, label in enumerate(labels):
        (tmp_path / "mine" / label).mkdir(parents=True)
        for k, i in enumerate(np.nonzero(test.y == c)[0][:2]):
            _write_wav(tmp_path / "mine" / label / f"{k}.wav", test.pcm[i])
    from pocketml.apps.kws import evaluate_kws  # what `pocketml kws evaluate OUT --wavs FOLDER` runs

    ev = evaluate_kws(out, wavs=tmp_path / "mine", streams=None, splits=()).to_dict()
    assert ev["accuracy"]["wavs"]["n"] == 2 * len(labels)
    assert sum(map(sum, ev["accuracy"]["wavs"]["confusion"])) == 2 * len(labels)
    bad = pocketml("kws", "detect", tmp_path / "missing.wav", "--model", out)
    assert bad.returncode == 1 and "does not exist" in bad.stderr
