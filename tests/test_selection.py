"""Edge data selection: uncertainty, diversity, the resumable active-learning loop, label noise,
byte budgets, the report, the CLI and the shrink hook."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits
from torch import nn

from pocketml.data import load_digits
from pocketml.data.selection import (
    ActiveLearner,
    LabelOracle,
    SelectionPlan,
    TorchClassifier,
    embed,
    flip_labels,
    hybrid_select,
    k_center_greedy,
    noise_report,
    predict_proba,
    select,
    uncertainty,
)
from pocketml.errors import PocketMLError


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):  # many tiny fits: threads only contend
        yield


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    flat = lambda split: (split.x.reshape(len(split.x), -1), split.y)  # noqa: E731
    return data, flat(data.train), flat(data.val), flat(data.test)


# -- uncertainty --------------------------------------------------------------------------------------
def test_uncertainty_scores_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25], [1.0, 0.0, 0.0]])
    assert uncertainty(p, "least-confidence") == pytest.approx([0.3, 0.6, 0.0])
    assert uncertainty(p, "margin") == pytest.approx([1 - 0.5, 1 - 0.05, 0.0])
    h = -(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1))
    assert uncertainty(p, "entropy") == pytest.approx([h, -(0.4 * np.log(0.4) + 0.35 * np.log(0.35)
                                                              + 0.25 * np.log(0.25)), 0.0])
    with pytest.raises(PocketMLError, match="unknown uncertainty"):
        uncertainty(p, "variance")


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU())
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.body(x))


def test_probabilities_and_embeddings_from_torch_and_sklearn(digits):
    data, (x, y), _, _ = digits
    torch.manual_seed(0)
    net = TinyNet()
    p = predict_proba(net, data.train.x[:50])
    assert p.shape == (50, 10) and np.allclose(p.sum(axis=1), 1)
    emb = embed(net, data.train.x[:50])  # the input of the last Linear: 16 features
    assert emb.shape == (50, 16)
    with torch.no_grad():
        assert np.allclose(emb, net.body(torch.as_tensor(data.train.x[:50])).numpy(), atol=1e-6)
    lr = LogisticRegression(max_iter=500).fit(x, y)
    assert np.allclose(predict_proba(lr, data.train.x[:5]), lr.predict_proba(x[:5]))
    assert embed(lr, data.train.x[:5]).shape == (5, 64)  # raw features
    with pytest.raises(PocketMLError, match="probabilities"):
        predict_proba(object(), x[:2])


# -- diversity ----------------------------------------------------------------------------------------
def test_k_center_picks_the_farthest_points():
    pts = np.array([[0.0], [0.1], [0.2], [5.0], [10.0], [9.9]])
    # with 0.0 already chosen: the farthest is 10.0, then 5.0 (5 from both), then 0.2
    assert k_center_greedy(pts, 3, centres=np.array([0])).tolist() == [4, 3, 2]


def test_k_center_covers_better_than_random():
    r = np.random.default_rng(0)
    pts = np.concatenate([r.normal(0, 0.1, (300, 2)), r.normal(5, 0.1, (10, 2)), r.normal(-5, 0.1, (10, 2))])
    chosen = k_center_greedy(pts, 6)

    def radius(idx):
        return np.sqrt(((pts[:, None] - pts[idx][None]) ** 2).sum(-1)).min(1).max()

    assert radius(chosen) < 0.5 < radius(r.choice(len(pts), 6, replace=False))


def test_hybrid_takes_uncertain_and_spread_out_samples():
    # two tight clusters of equally uncertain points: the hybrid takes one from each
    pts = np.array([[0, 0], [0, 0.01], [0.01, 0], [9, 9], [9, 9.01], [3, 3]], dtype=float)
    scores = np.array([0.9, 0.91, 0.92, 0.8, 0.81, 0.1])
    picked = hybrid_select(pts, scores, 2, candidates=np.arange(6), prefilter=2)
    assert sorted(picked.tolist()) == [2, 4]  # most uncertain of each cluster; 5 is certain


# -- the active-learning loop -------------------------------------------------------------------------
def test_hybrid_and_margin_beat_random_on_digits(digits):
    _, (x, y), _, test = digits
    acc = {}
    for strategy in ("random", "margin", "hybrid"):
        loop = ActiveLearner(strategy, batch_size=20, n_initial=20, seed=0)
        loop.run(x, LabelOracle(y), 160, test=test, checkpoints=(100,))
        assert loop.curve_.n_labels[-1] == 160 and 100 in loop.curve_.n_labels
        assert len(set(loop.labeled_.tolist())) == 160
        acc[strategy] = loop.curve_.at(160)
    assert acc["margin"] > acc["random"] and acc["hybrid"] > acc["random"]


def test_oracle_that_raises_stops_cleanly_and_the_loop_resumes(digits, tmp_path):
    _, (x, y), _, test = digits
    whole = ActiveLearner("margin", seed=1).run(x, LabelOracle(y), 100, test=test)

    calls = {"n": 0}

    def flaky(idx):
        calls["n"] += 1
        if calls["n"] == 3:
            raise TimeoutError("labelling service down")
        return y[idx]

    state = tmp_path / "al.json"
    with pytest.raises(PocketMLError, match="TimeoutError: labelling service down") as err:
        ActiveLearner("margin", seed=1).run(x, flaky, 100, test=test, state=state)
    assert "same state= file" in err.value.fix
    saved = json.loads(state.read_text())
    assert len(saved["labeled"]) == 40  # two batches answered before the failure
    resumed = ActiveLearner("margin", seed=1).run(x, LabelOracle(y), 100, test=test, state=state)
    assert resumed.labeled_.tolist() == whole.labeled_.tolist()
    assert resumed.curve_ == whole.curve_
    with pytest.raises(PocketMLError, match="different pool"):
        ActiveLearner("margin", seed=1).run(x[::-1], LabelOracle(y), 100, state=state)
    with pytest.raises(PocketMLError, match="other settings"):
        ActiveLearner("entropy", seed=1).run(x, LabelOracle(y), 100, state=state)


def test_oracle_answers_are_checked(digits):
    _, (x, _), _, _ = digits
    with pytest.raises(PocketMLError, match="oracle returned"):
        ActiveLearner("margin").run(x, lambda idx: np.zeros(len(idx) - 1, int), 40)
    with pytest.raises(PocketMLError, match="pass state="):
        ActiveLearner("margin").run(x, lambda idx: 1 / 0, 40)


def test_torch_learner_with_penultimate_kcenter(digits):
    data, _, _, _ = digits
    learner = TorchClassifier(TinyNet, epochs=60, lr=1e-2, seed=0)
    loop = ActiveLearner("kcenter", learner, batch_size=15, n_initial=15).run(
        data.train.x, LabelOracle(data.train.y), 45, test=(data.test.x, data.test.y))
    assert loop.curve_.n_labels == (15, 30, 45)
    assert loop.model_.module_ is not None and loop.curve_.accuracy[-1] > 0.5


# -- bad input ----------------------------------------------------------------------------------------
def test_bad_input_gets_a_problem_and_a_fix(digits):
    _, (x, y), val, _ = digits
    nan = x.copy()
    nan[7, 3] = np.nan
    with pytest.raises(PocketMLError, match="NaN .* first at index 7") as err:
        select(nan, y, budget=50)
    assert err.value.fix
    with pytest.raises(PocketMLError, match="only 1 class"):
        select(x, np.zeros(len(x), int), budget=50)
    with pytest.raises(PocketMLError, match="smaller than one sample") as err:
        select(x, y, budget_bytes=100)
    assert "sample_bytes" in err.value.fix
    with pytest.raises(PocketMLError, match="not a fraction"):
        select(x, y, budget=1.5)
    with pytest.raises(PocketMLError, match="unknown selection strategy"):
        select(x, y, strategy="best")
    with pytest.raises(PocketMLError, match="validation split"):
        select(x, y, strategy="value")
    with pytest.raises(PocketMLError, match="needs a model"):
        select(x, None, strategy="margin", budget=10)


# -- selection, budgets, noise ------------------------------------------------------------------------
def test_byte_budget_keeps_what_fits(digits):
    data, (x, y), val, _ = digits
    chosen = select(data.train.x, y, strategy="value", budget_bytes=10_000, val=val)
    assert chosen.sample_bytes == 64 * 4 + 1  # float32 8x8 + a label byte
    assert len(chosen.indices) == 10_000 // 257 and chosen.stored_bytes <= 10_000
    assert len(np.unique(y[chosen.indices])) == 10  # the value order takes the classes in turn
    small = select(x.astype(np.uint8), y, strategy="kcenter", budget_bytes=10_000)
    assert len(small.indices) == 10_000 // 65


def test_one_shot_selection_from_an_unlabelled_pool(digits):
    data, _, _, _ = digits
    torch.manual_seed(0)
    net = TinyNet()
    for strategy in ("entropy", "hybrid", "kcenter"):
        chosen = select(data.train.x, None, strategy=strategy, budget=30, model=net)
        assert len(set(chosen.indices.tolist())) == 30
    top = select(data.train.x, None, strategy="entropy", budget=30, model=net)
    scores = uncertainty(predict_proba(net, data.train.x), "entropy")
    assert scores[top.indices].min() >= np.sort(scores)[-30]


def test_label_noise_found_and_dropped(digits):
    _, (x, y), val, _ = digits
    noisy, flipped = flip_labels(y, 0.1, seed=0)
    truth = np.zeros(len(y), bool)
    truth[flipped] = True
    report = noise_report(x, noisy, val, true_noisy=truth)
    assert report.method == "shapley" and np.array_equal(report.suspects, report.negative_shapley)
    assert report.precision["suspects"] > 0.85 and report.recall["suspects"] > 0.9
    assert report.recall["cleanlab"] > 0.7 and report.overlap > 0.5 * len(report.cleanlab)
    chosen = select(x, noisy, strategy="random", val=val, drop_suspects=True)
    assert np.array_equal(chosen.dropped, report.suspects)
    assert not set(chosen.indices.tolist()) & set(report.suspects.tolist())


# -- report, CLI, shrink hook -------------------------------------------------------------------------
def test_report_is_self_contained(digits, tmp_path):
    from pocketml.data.selection import compare_strategies, knn_shapley, removal_curve
    from pocketml.report.selection import write_selection_html

    _, (x, y), val, test = digits
    comparison = compare_strategies(x[:300], y[:300], test, strategies=("random", "margin"), budgets=(0.2, 0.4))
    values = knn_shapley(x[:300], y[:300], *val)
    removal = removal_curve(values, x[:300], y[:300], test, fractions=(0.0, 0.2))
    assert removal.high_first[1] < removal.low_first[1]
    page = write_selection_html(tmp_path / "r.html", comparison=comparison, removal=removal).read_text()
    assert page.count("<svg") == 2 and "<script" not in page and 'src="http' not in page
    assert "margin" in page and "60 (20%)" in page


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pocketml.cli", *args], capture_output=True, text=True)


def test_cli_select_writes_its_folder(tmp_path):
    out = tmp_path / "sel"
    proc = _cli("select", "--strategy", "margin", "--budget", "100", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["selection"]["n_selected"] == 100 and doc == json.loads((out / "selection.json").read_text())
    with np.load(out / "selected.npz") as npz:
        assert npz["x_train"].shape == (100, 1, 8, 8) and npz["x_test"].shape == (360, 1, 8, 8)
    assert "<svg" not in (out / "report.html").read_text()  # no --curves: no plots


def test_cli_select_help_and_errors_in_process(tmp_path, monkeypatch, capsys):
    from typer.testing import CliRunner

    from pocketml import cli

    assert "--drop-suspects" in CliRunner().invoke(cli.app, ["select", "--help"]).output
    monkeypatch.setattr(sys, "argv", ["pocketml", "select", "--device", "uno", "--budget-bytes", "10",
                                      "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit) as code:
        cli.main()
    err = capsys.readouterr().err
    assert code.value.code == 1 and "smaller than one sample" in err and "fix:" in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("damage,needle", [
    ("not a zip", "not an .npz archive"),
    ("npy", "a single .npy array"),
    ("test shape", "x_test (9,)"),
    ("objects", "Python objects"),
])
def test_select_data_is_read_as_untrusted(damage, needle, tmp_path):
    """``select --data`` reads through the same checked reader as ``shrink --data`` (docs/security.md)."""
    from pocketml.data.selection import load_selection_data

    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.random((30, 8)), y_train=np.arange(30) % 3, x_test=rng.random((9, 8)),
                  y_test=np.arange(9) % 3)
    path = tmp_path / "d.npz"
    if damage == "not a zip":
        path.write_bytes(b"hello")
    elif damage == "npy":
        np.save(tmp_path / "d.npy", arrays["x_train"])
        (tmp_path / "d.npy").rename(path)
    elif damage == "test shape":
        np.savez(path, **{**arrays, "x_test": rng.random((9, 9))})
    else:
        import zipfile

        np.savez(path, **arrays)
        with zipfile.ZipFile(path, "a") as z:  # an object array: np.save would pickle it
            with z.open("x_val.npy", "w") as f:
                np.lib.format.write_array(f, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(PocketMLError) as err:
        load_selection_data(path)
    assert needle in str(err.value)


def test_shrink_runs_selection_first(monkeypatch):
    from dataclasses import replace

    import pocketml.pipeline.from_torch
    from pocketml.models.registry import BUILTIN

    monkeypatch.setitem(BUILTIN, "digits-cnn", replace(BUILTIN["digits-cnn"], epochs=2))  # quick: the hook is tested
    seen = {}

    def fake_shrink(net, calibration, test, board, out, **kwargs):  # the spine is tested elsewhere
        seen.update(net=net, calibration=calibration, before=kwargs["before"])
        return "result"

    monkeypatch.setattr(pocketml.pipeline.from_torch, "shrink", fake_shrink)
    out = pocketml.pipeline.from_torch.shrink_builtin("digits-cnn", "nano33ble", "unused", progress=False,
                                           select=SelectionPlan(strategy="kcenter", budget=0.25))
    assert out == "result" and len(seen["calibration"]) == 270  # trained and calibrated on the selection
    stage = seen["before"][0]  # (a "train" stage with emissions may follow)
    assert stage.name == "select" and stage.figures["n_selected"] == 270 and stage.figures["strategy"] == "kcenter"
    assert isinstance(seen["net"], torch.nn.Module)
