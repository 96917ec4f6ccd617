"""`pocketml verify` and what shrink writes for it: every runtime against the reference, bad OUT folders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from pocketml import PocketMLError
from pocketml.cli import app
from pocketml.deploy.verify import load_bundle, verify


def test_shrink_writes_tflite_and_a_verify_object(nano_result):
    result, out = nano_result
    assert (out / "model.tflite").is_file() and (out / "verify" / "inputs.npy").is_file()
    doc = json.loads((out / "result.json").read_text())
    v = doc["verify"]
    assert v["exact"] is True
    for runtime in ("reference", "c", "tflm"):
        assert v["runtimes"][runtime]["samples"] == 360
        assert v["runtimes"][runtime]["mismatching_samples"] == 0
    assert v["arena"]["planned_bytes"] == result.arena_bytes
    assert v["arena"]["tflm_bytes"] > result.arena_bytes  # TFLM's record: activations + its own structures
    assert doc["files"]["tflite"] == "model.tflite"


def test_bundle_reloads_the_same_graph(nano_result, digits_qgraph):
    _, out = nano_result
    bundle = load_bundle(out)
    assert bundle.inputs.dtype == np.int8 and bundle.inputs.shape == (360, 8, 8, 1)
    assert [op.kind for op in bundle.graph.ops] == [op.kind for op in digits_qgraph.ops]
    assert np.array_equal(bundle.graph.run(bundle.inputs), digits_qgraph.run(bundle.inputs))


@pytest.fixture(scope="module")
def full_report(nano_result):
    _, out = nano_result
    return verify(out, "reference,c,tflm,litert", layers=True, passes=1)


def test_verify_every_runtime_and_tflm_arena(full_report):
    r = full_report
    assert r.exact
    for name in ("c", "tflm"):
        check = r.check(name)
        assert check.mismatching_samples == 0 and check.max_abs_diff == 0 and check.latency_us > 0
    for name in ("litert-xnnpack", "litert-reference"):
        check = r.check(name)
        assert check.samples == 360 and check.max_abs_diff <= 3  # measured, not required to be 0
    # probed: the smallest arena works, one byte less does not; TFLM needs more than our plan
    assert r.planned_arena_bytes < r.tflm_arena_bytes == r.check("tflm").arena_bytes
    assert "bisected" in r.tflm_arena_method


def test_verify_layers_names_the_first_divergence(full_report):
    pairs = {(p.a, p.b): p for p in full_report.layers}
    assert pairs[("reference", "tflm")].first is None  # identical at every layer
    for p in full_report.layers:
        assert len(p.per_layer) == 5
        if p.first is not None:  # the first differing layer is really the first
            i = [d.layer for d in p.per_layer].index(p.first.layer)
            assert all(d.elements_differing == 0 for d in p.per_layer[:i])
            assert p.first.elements_differing > 0
    doc = full_report.to_dict()
    assert json.loads(json.dumps(doc))["runtimes"]["tflm"]["mismatching_samples"] == 0


def test_cli_verify_json(nano_result):
    _, out = nano_result
    res = CliRunner().invoke(app, ["verify", str(out), "--runtimes", "tflm", "--no-probe-arena", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert set(doc["runtimes"]) == {"reference", "tflm"} and doc["exact"] is True


@pytest.mark.parametrize("damage", ["truncate-tflite", "missing-graph", "bad-inputs"])
def test_damaged_out_folder_is_a_clear_error(nano_result, tmp_path, damage):
    _, out = nano_result
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    if damage == "truncate-tflite":
        data = (copy / "model.tflite").read_bytes()
        (copy / "model.tflite").write_bytes(data[:200])
        match = "corrupt or truncated"
    elif damage == "missing-graph":
        (copy / "verify" / "graph.npz").unlink()
        match = "missing verify/graph.npz"
    else:
        np.save(copy / "verify" / "inputs.npy", np.zeros((3, 4), np.float32))
        match = "inputs.npy holds"
    with pytest.raises(PocketMLError, match=match):
        verify(copy, "reference,tflm", probe_arena=False, latency=False)
    res = CliRunner().invoke(app, ["verify", str(copy), "--runtimes", "tflm", "--no-probe-arena"])
    assert res.exit_code != 0 and isinstance(res.exception, (PocketMLError, SystemExit))


def test_unknown_runtime_is_refused(nano_result):
    with pytest.raises(PocketMLError, match="unknown runtime"):
        verify(nano_result[1], "reference,tensorflow")
