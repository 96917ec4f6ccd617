"""Compression end to end through ``shrink``: a short deep recipe, result.json keys, budgets, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from pocketml import PocketMLError, shrink
from pocketml.cli import app
from pocketml.compress.finetune import finetune
from pocketml.compress.recipe import Recipe, StageSpec
from pocketml.data.dataset import Split


@pytest.fixture(scope="module")
def blobs():
    """A 4-class linear problem and a trained MLP (seconds)."""
    r = np.random.default_rng(0)
    x = r.normal(size=(700, 16)).astype(np.float32)
    y = (x @ r.normal(size=(16, 4))).argmax(1).astype(np.int64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 48), nn.ReLU(), nn.Linear(48, 4))
    finetune(model, Split(x[:500], y[:500]), epochs=25, lr=1e-2)
    return model, Split(x[:500], y[:500]), Split(x[500:], y[500:])


SHORT_DEEP = Recipe("short-deep", (StageSpec("prune", {"sparsity": 0.6, "epochs": 4, "min_weights": 0}),
                                   StageSpec("qat", {"bits": 4, "epochs": 3}), StageSpec("huffman")))


@pytest.fixture(scope="module")
def deep_result(blobs, tmp_path_factory):
    model, train, test = blobs
    out = tmp_path_factory.mktemp("compress") / "deep"
    return shrink(model, train.x, test, "nano33ble", out, name="blobs", recipe=SHORT_DEEP, train=train), out


def test_deep_recipe_is_verified_and_counts_every_deployed_byte(deep_result):
    result, out = deep_result
    doc = json.loads((out / "result.json").read_text())
    assert doc["c_mismatches"] == 0 and doc["accuracy"]["c"] == doc["accuracy"]["int8"]
    assert doc["accuracy"]["c"] >= doc["accuracy"]["float"] - 0.05
    comp = doc["compression"]
    assert comp["recipe"] == "short-deep" and set(comp["bits"].values()) == {4}
    stored = sum(w["bytes"] for w in comp["weights"].values())
    deploy = next(s for s in doc["stages"] if s["name"] == "deploy-c")
    # deployed = the emitter's constant data (weights as stored + per-channel tables) + decoder code
    assert doc["size_bytes"]["deployed"] > deploy["const_bytes"] >= stored
    assert doc["size_bytes"]["float32"] / doc["size_bytes"]["deployed"] > 3
    assert comp["decode_scratch_bytes"] == max(w["count"] for w in comp["weights"].values())
    assert any("TFLite" in n for n in comp["notes"])
    c_files = set((out / "c").iterdir())
    assert any(p.name.endswith("_weights.c") for p in c_files)


def test_each_stage_records_accuracy_bytes_macs_ram(deep_result):
    result, out = deep_result
    stages = {s.name: s.figures for s in result.stages}
    for name in ("prune", "qat", "huffman"):
        for key in ("accuracy_int", "accuracy_float", "bytes", "macs", "ram"):
            assert f"{key}_before" in stages[name] and f"{key}_after" in stages[name]
    assert stages["prune"]["sparsity"] >= 0.55
    assert stages["prune"]["bytes_after"] < stages["prune"]["bytes_before"]  # sparse storage paid off
    assert stages["qat"]["bytes_after"] < stages["qat"]["bytes_before"]
    assert stages["huffman"]["bytes_after"] <= stages["huffman"]["bytes_before"]
    assert stages["huffman"]["accuracy_int_after"] == stages["huffman"]["accuracy_int_before"]  # lossless
    assert {"ptq_accuracy", "qat_accuracy"} <= set(stages["qat"])
    html = (out / "report.html").read_text()
    assert "Compression: short-deep" in html and "<svg" in html


def test_target_flash_picks_int8_when_it_fits_and_refuses_the_impossible(blobs, tmp_path):
    model, train, test = blobs
    res = shrink(model, train.x, test, "nano33ble", tmp_path / "big", train=train, target_flash="64KB")
    comp = res.to_json()["compression"]
    assert comp["target_flash"]["chosen"] == "int8" and comp["target_flash"]["met"]
    with pytest.raises(PocketMLError, match="no recipe fits the flash budget of 100 B"):
        shrink(model, train.x, test, "nano33ble", tmp_path / "tiny", train=train, target_flash=100)
    assert not (tmp_path / "tiny").exists()


def test_cli_refuses_a_bad_recipe_before_training(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[[stage]]\nkind = "prune"\nsparsity = 1.5\n')
    run = CliRunner().invoke(app, ["shrink", "--recipe", str(bad), "--out", str(tmp_path / "o")])
    assert run.exit_code != 0
    assert isinstance(run.exception, PocketMLError) and "outside [0, 1)" in run.exception.problem
    run = CliRunner().invoke(app, ["shrink", "--recipe", "nope", "--out", str(tmp_path / "o")])
    assert isinstance(run.exception, PocketMLError) and "unknown recipe" in run.exception.problem


def test_distill_channels_mixed_recipe_shrinks_the_model_and_meets_its_budget(blobs, tmp_path):
    model, train, test = blobs
    recipe = Recipe("small", (StageSpec("distill", {"width": 0.5, "general_epochs": 1, "task_epochs": 4}),
                              StageSpec("channels", {"ratio": 0.25, "epochs": 2}),
                              StageSpec("mixed", {"budget_bytes": 450, "bits": [8, 4, 2], "epochs": 1})))
    res = shrink(model, train.x, test, "nano33ble", tmp_path / "small", train=train, recipe=recipe)
    stages = {s.name: s.figures for s in res.stages}
    assert stages["distill"]["student_params"] < stages["distill"]["teacher_params"]
    assert stages["channels"]["params_torch_after"] < stages["channels"]["params_torch_before"]
    assert stages["mixed"]["bytes_after"] <= 450 and min(res.compression.bits.values()) < 8
    assert set(stages["mixed"]["sensitivity"]) == set(res.compression.bits)
    assert res.c_mismatches == 0
    assert res.size_bytes["float32"] == 4 * (16 * 48 + 48 + 48 * 4 + 4)  # the float32 baseline is the teacher
