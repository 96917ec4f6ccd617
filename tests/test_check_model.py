"""`pocketml.check_model` and `pocketml shrink --check`: every blocker of a PyTorch model at once,
named by the user's layer (module path and class), never by an ATen op alone."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import pocketml
from pocketml.cli.app import app
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture


class Blocked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.act = nn.GELU()
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3), nn.GELU(), nn.Conv2d(4, 4, 1), nn.ELU())
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.block(self.act(self.stem(x))).mean((2, 3)))


def test_check_model_lists_every_layer_and_every_blocker():
    check = pocketml.check_model(Blocked(), torch.zeros(1, 3, 12, 12), "blocked")
    assert not check.compiles
    assert [(b.module, b.layer) for b in check.blockers] == [("act", "GELU"), ("block.1", "GELU"), ("block.3", "ELU")]
    fates = {c.module: c.becomes for c in check.layers if c.ok}
    assert fates["stem.0"] == "conv2d" and fates["stem.1"].startswith("folded") and fates["stem.2"].startswith("fused")
    assert fates["head"] == "fully_connected"  # layers after a blocker are still checked


def test_capture_names_every_blocker_in_one_error():
    with pytest.raises(PocketMLError) as err:
        capture(Blocked(), torch.zeros(1, 3, 12, 12))
    text = err.value.problem
    assert "3 layer(s)" in text and "GELU x2 (act, block.1)" in text and "block.3 (ELU)" in text
    assert "aten" not in text.split(":")[0]


def test_a_model_that_captures_has_no_blockers():
    check = pocketml.check_model(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardswish(), nn.Flatten(), nn.Linear(64, 2)),
                                 torch.zeros(1, 3, 6, 6))
    assert check.compiles and not check.blockers


def test_cli_shrink_check_on_a_pt2(tmp_path):
    path = tmp_path / "blocked.pt2"
    torch.export.save(torch.export.export(Blocked().eval(), (torch.zeros(1, 3, 12, 12),)), str(path))
    runner = CliRunner()
    res = runner.invoke(app, ["shrink", "--model", str(path), "--check", "--json"])
    assert res.exit_code == 2, res.output
    doc = json.loads(res.output)
    assert not doc["compiles"] and [b["module"] for b in doc["blockers"]] == ["act", "block.1", "block.3"]
    ok = runner.invoke(app, ["shrink", "--model", "digits-cnn", "--check"])
    assert ok.exit_code == 0 and "captures" in ok.output
    assert not list(tmp_path.glob("out*"))
