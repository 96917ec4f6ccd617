"""Model ↔ board matchmaking: exact costs before training, the search, trees, bad budgets, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.tree import DecisionTreeClassifier

from pocketml import PocketMLError, shrink
from pocketml.compress.recipe import Recipe, StageSpec
from pocketml.data import load_digits
from pocketml.devices import find_device
from pocketml.graph.capture import capture
from pocketml.search import Architecture, Budget, build, match, measure_cost
from pocketml.search.cost import parse_latency_ms
from pocketml.search.space import resize
from pocketml.search.trees import (
    TreeArchitecture,
    _integer_thresholds,
    deploy_tree,
    fit_tree,
    tree_features,
    vote,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_cost_without_training_equals_what_shrink_measures(digits, tmp_path):
    # Prepare: a board without a Cortex-M cross-build, so shrink measures host objects as cost does
    board = find_device("esp32s3")
    arch = Architecture("cnn", 0.5, 2, 3, 8, (8, 8, 8))
    # Execute
    cost = measure_cost(arch, digits.train.x[:32], 10, board, Budget.for_device(board))
    torch.manual_seed(3)  # other random weights: bytes must not depend on them
    result = shrink(build(arch, 1, 10), digits.train.x[:64], (digits.test.x[:20], digits.test.y[:20]),
                    board, tmp_path / "s", report=False)
    # Assert
    assert cost.arena_bytes == result.arena_bytes
    assert cost.ram_bytes == result.ram_bytes
    assert cost.flash_bytes == result.flash_bytes
    assert cost.macs == result.macs
    assert cost.latency_ms == pytest.approx(result.cost.latency_ms)
    assert cost.fits


def test_int4_cost_equals_what_shrink_emits_packed(digits, tmp_path):
    # Prepare: int4 on the two conv layers, int8 on the classifier
    board = find_device("esp32s3")
    arch = Architecture("cnn", 0.5, 2, 3, 8, (4, 4, 8))
    recipe = Recipe("mixed", (StageSpec("quantize", {"layer_bits": [4, 4, 8]}),))
    # Execute
    cost = measure_cost(arch, digits.train.x[:32], 10, board, Budget.for_device(board))
    int8 = measure_cost(Architecture("cnn", 0.5, 2, 3, 8, (8, 8, 8)), digits.train.x[:32], 10, board,
                        Budget.for_device(board))
    torch.manual_seed(3)
    result = shrink(build(arch, 1, 10), digits.train.x[:64], (digits.test.x[:20], digits.test.y[:20]),
                    board, tmp_path / "s", report=False, recipe=recipe)
    # Assert: the same bytes as the verified artifact; packing halves the conv weights
    assert result.c_mismatches == 0
    assert (cost.flash_bytes, cost.ram_bytes) == (result.flash_bytes, result.ram_bytes)
    conv_weights = 8 * 1 * 9 + 16 * 8 * 9
    assert int8.const_bytes - cost.const_bytes == conv_weights - conv_weights // 2
    assert cost.ram_bytes > int8.ram_bytes  # the decode scratch is RAM, and it is counted


def test_layer_bits_must_match_the_weight_layers(digits, tmp_path):
    recipe = Recipe("wrong", (StageSpec("quantize", {"layer_bits": [4, 8]}),))
    with pytest.raises(PocketMLError, match="layer_bits has 2 widths but the model has 3"):
        shrink(build(Architecture("cnn", 0.5, 2, 3, 8, (8, 8, 8)), 1, 10), digits.train.x[:32],
               (digits.test.x[:8], digits.test.y[:8]), "esp32s3", tmp_path / "w", report=False, recipe=recipe)
    with pytest.raises(PocketMLError, match="weight bit width 3"):
        Recipe("bad", (StageSpec("qat", {"layer_bits": [3]}),)).validate()


def test_avr_counts_constant_data_in_ram(digits):
    arch = Architecture("mlp", 0.5, 1, None, 4, (8, 8))
    host = measure_cost(arch, digits.train.x[:8], 10, find_device("esp32s3"), Budget(10**9, 10**9))
    uno = measure_cost(arch, digits.train.x[:8], 10, find_device("uno"), Budget(10**9, 10**9))
    assert uno.ram_bytes >= host.ram_bytes + arch.channels()[0] * 16 + 10 * arch.channels()[0]


def test_budget_misses_say_by_how_much():
    budget = Budget(ram_bytes=1000, flash_bytes=2000, latency_ms=1.0)
    assert budget.misses(1500, 2000, 0.5, 0.0) == {"ram": pytest.approx(0.5)}
    assert set(budget.misses(10, 10, 3.0, 0.0)) == {"latency"}


@pytest.mark.parametrize("arch", [
    Architecture("cnn", 1.0, 2, 3, 8, (8,) * 3),
    Architecture("dscnn", 0.5, 3, 3, 8, (8,) * 6),
    Architecture("mlp", 0.25, 0, None, 4, (8,)),
    Architecture("cnn", 0.25, 1, 5, 4, (8,) * 2),
])
def test_every_family_builds_and_captures(arch, digits):
    x = resize(digits.train.x[:2], arch.resolution)
    model = build(arch, 1, 10).eval()
    assert model(torch.as_tensor(x)).shape == (2, 10)
    graph = capture(model, torch.as_tensor(x[:1]), "probe")
    n_weight = sum(ly.weight is not None for ly in graph.layers)
    assert n_weight == arch.n_weight_layers()


def test_digits_cnn_is_a_point_of_the_space():
    from pocketml.models.digits_cnn import DigitsCNN

    ours = build(Architecture("cnn", 1.0, 2, 3, 8, (8,) * 3), 1, 10)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ours) == count(DigitsCNN())


def test_integer_thresholds_keep_sklearn_semantics():
    # a stump that splits on x <= 2.5: x = 2 must go left (emlearn alone writes x < 2)
    x = np.array([[0], [1], [2], [3], [4], [5]], np.int16)
    y = np.array([0, 0, 0, 1, 1, 1])
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=1, bootstrap=False, random_state=0).fit(x, y)
    assert forest.estimators_[0].tree_.threshold[0] == pytest.approx(2.5)
    exported = _integer_thresholds(forest)
    assert exported.estimators_[0].tree_.threshold[0] == 3.0
    assert forest.estimators_[0].tree_.threshold[0] == pytest.approx(2.5)  # original untouched
    assert isinstance(exported.estimators_[0], DecisionTreeClassifier)


def test_tree_c_equals_python_on_the_test_split(digits, tmp_path):
    arch = TreeArchitecture(n_trees=3, max_depth=6, resolution=4)
    xtr = tree_features(digits.train.x, 4, 16.0)
    xte = tree_features(digits.test.x, 4, 16.0)
    assert xtr.dtype == np.int16 and xtr.max() <= 64 and xtr.shape[1] == 16
    model = fit_tree(arch, xtr, digits.train.y, seed=0)
    board = find_device("uno")
    dep = deploy_tree(model, xte, digits.test.y, board, Budget.for_device(board), tmp_path / "c", "tree")
    assert dep.c_mismatches == 0
    assert dep.accuracy_c == dep.accuracy_python == pytest.approx(np.mean(vote(model, xte) == digits.test.y))
    assert dep.accuracy_c > 0.6
    assert dep.cost.fits and dep.cost.ram_bytes < 200


@pytest.fixture(scope="module")
def small_match(tmp_path_factory):
    out = tmp_path_factory.mktemp("match") / "nano"
    return match("nano33ble", "digits", families=("mlp", "tree"), n_trials=6, search_epochs=2,
                 final_epochs=4, n_finalists=1, out=out, progress=False), out


def test_match_returns_a_verified_front_and_chosen_model(small_match):
    result, out = small_match
    doc = json.loads((out / "match.json").read_text())
    assert doc == json.loads(result.dumps())
    assert doc["front"] and {"accuracy", "flash_bytes", "ram_bytes", "fits"} <= set(doc["chosen"])
    chosen = doc["chosen"]
    assert chosen["fits"] is True and chosen["c_mismatches"] == 0
    assert chosen["flash_bytes"] <= 1_048_576 and chosen["ram_bytes"] <= 262_144
    assert (out / "front.png").stat().st_size > 5000 and (out / "chosen").is_dir()
    front = result.front
    for c in front:  # nobody on the front is beaten on all three objectives by another trained one
        for o in result.candidates:
            if o.status == "trained" and o is not c:
                assert not (o.accuracy >= c.accuracy and o.cost.flash_bytes <= c.cost.flash_bytes
                            and o.cost.latency_ms <= c.cost.latency_ms
                            and (o.accuracy, o.cost.flash_bytes, o.cost.latency_ms)
                            != (c.accuracy, c.cost.flash_bytes, c.cost.latency_ms))


def test_pruned_candidates_are_never_trained(tmp_path):
    result = match("uno", families=("mlp", "tree"), n_trials=6, search_epochs=2, final_epochs=3,
                   n_finalists=1, out=tmp_path / "uno", plot=False, progress=False)
    pruned = [c for c in result.candidates if c.status.startswith("pruned")]
    assert all(c.accuracy is None and not c.cost.fits for c in pruned)
    assert result.chosen.fits and result.chosen.ram_bytes <= 2048 and result.chosen.c_mismatches == 0


def test_a_budget_nothing_meets_returns_the_closest_and_the_miss(tmp_path):
    result = match("nano33ble", families=("tree",), max_latency_ms=1e-6, n_trials=3,
                   out=tmp_path / "m", plot=False, progress=False)
    assert result.front == []
    chosen = result.chosen.to_dict()
    assert chosen["fits"] is False and set(chosen["misses"]) == {"latency"}
    assert chosen["misses"]["latency"] > 1 and "latency over by" in chosen["miss_text"]
    best_miss = min(c.cost.misses["latency"] for c in result.candidates if c.cost)
    assert result.chosen.candidate.cost.misses["latency"] == best_miss


@pytest.mark.parametrize("kwargs, words", [
    ({"task": "mnist"}, "unknown task"),
    ({"families": ("transformer",)}, "unknown model families"),
    ({"n_trials": 0}, "n_trials must be at least 1"),
    ({"max_flash": -5}, "max_flash must be positive"),
])
def test_bad_input_is_refused_with_a_fix(kwargs, words, tmp_path):
    with pytest.raises(PocketMLError) as err:
        match("nano33ble", out=tmp_path / "x", progress=False, **kwargs)
    assert words in err.value.problem and err.value.fix
    assert not (tmp_path / "x").exists()


def test_latency_budgets_are_read_with_units():
    assert parse_latency_ms("10ms") == 10.0
    assert parse_latency_ms("500us") == pytest.approx(0.5)
    assert parse_latency_ms("0.2s") == pytest.approx(200.0)
    assert parse_latency_ms("3") == 3.0
    for bad in ("fast", "-1ms", "0"):
        with pytest.raises(PocketMLError):
            parse_latency_ms(bad)


def test_cli_match_json(tmp_path):
    from typer.testing import CliRunner

    from pocketml.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["match", "--device", "uno", "--family", "tree", "--trials", "4",
                              "--out", str(tmp_path / "m"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert isinstance(doc["front"], list) and doc["chosen"]["fits"] is True
    assert doc["chosen"]["family"] == "tree" and doc["chosen"]["c_mismatches"] == 0
    assert {"accuracy", "flash_bytes", "ram_bytes"} <= set(doc["chosen"])
    bad = runner.invoke(app, ["match", "--max-latency", "soon", "--out", str(tmp_path / "b")])
    assert isinstance(bad.exception, PocketMLError) and "latency budget" in bad.exception.problem
    assert "--max-latency" in runner.invoke(app, ["match", "--help"]).stdout


def test_importing_the_tree_exporter_leaves_numpy_error_state_alone():
    """emlearn sets numpy.seterr(all='raise') when imported; pocketml must not let that leak."""
    import sys

    import numpy as np

    from pocketml.search import trees

    cached = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == "emlearn"}
    for name in cached:
        del sys.modules[name]  # force a fresh import, so the side effect really happens
    before = np.geterr()
    try:
        trees._emlearn()
        assert "emlearn" in sys.modules and sys.modules["emlearn"] is not cached.get("emlearn")  # imported afresh
        assert np.geterr() == before
    finally:
        sys.modules.update(cached)


def test_match_with_int4_layers_deploys_them_fine_tuned(digits, tmp_path):
    # Execute: only int4 allowed, so the chosen MLP must carry int4 layers through QAT into C
    result = match("nano33ble", "digits", families=("mlp",), bits=(4,), n_trials=2, search_epochs=1,
                   final_epochs=2, n_finalists=1, out=tmp_path / "m", progress=False)
    # Assert
    chosen = result.chosen
    assert set(chosen.candidate.arch.bits) == {4}
    assert chosen.c_mismatches == 0 and chosen.fits
    doc = json.loads((tmp_path / "m" / "chosen" / "result.json").read_text())
    assert set(doc["compression"]["bits"].values()) == {4}
    assert any(st["name"].startswith("qat") for st in doc["stages"])
    with pytest.raises(PocketMLError, match="cannot all be searched"):
        match("nano33ble", "digits", bits=(2,), out=tmp_path / "x", progress=False)
