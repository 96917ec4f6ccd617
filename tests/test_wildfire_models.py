"""Wildfire models end to end: the cell forecaster's skill, `wildfire evaluate` on a real-format
file, and a small `simulate` run (cell model shrunk and verified, regional model, decisions, page)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pocketml.apps.wildfire.cell_model import CellForecaster
from pocketml.apps.wildfire.psps import simulate, small_settings
from pocketml.apps.wildfire.region import VARIABLES, generate_region
from pocketml.apps.wildfire.stations import write_isd_lite
from pocketml.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def small_region():
    return generate_region(5, rows=3, cols=3, days=150)


def test_cell_forecaster_rolls_to_48h_deterministically(small_region):
    r = small_region
    series = np.stack([r.variable(v) for v in VARIABLES], -1)
    cut = 24 * 110
    f = CellForecaster(epochs=2, max_samples=4_000, min_steps=0).fit(series[:cut], r.times[:cut])
    origins = np.arange(cut, r.n_hours - 48, 3)
    fc = f.forecast_series(series, r.times, origins)
    assert fc.shape == (len(origins), 9, 48, 4) and np.isfinite(fc).all()
    again = CellForecaster(epochs=2, max_samples=4_000, min_steps=0).fit(series[:cut], r.times[:cut])
    np.testing.assert_array_equal(again.forecast_series(series, r.times, origins[:5]), fc[:5])


def test_evaluate_cli_on_isd_lite_json(small_region, tmp_path):
    r = small_region
    path = write_isd_lite(
        tmp_path / "725300-99999-2021",
        r.times,
        r.temperature[:, 4],
        r.relative_humidity[:, 4],
        r.wind_speed[:, 4],
        r.wind_direction[:, 4],
    )
    res = runner.invoke(app, ["wildfire", "evaluate", "--station", str(path), "--format", "isd-lite", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out["mae"]) == {"wind_speed", "relative_humidity", "temperature"}  # ISD-Lite has no gusts
    for table in out["mae"].values():
        assert list(table) == ["1", "6", "12", "24", "48"]
        for row in table.values():
            assert set(row) == {"model", "persistence", "climatology"} and all(v >= 0 for v in row.values())
    assert out["n_train_hours"] == int(0.7 * r.n_hours)
    for h in ("6", "12"):  # the rolled forecast beats persistence on wind
        assert out["mae"]["wind_speed"][h]["model"] < out["mae"]["wind_speed"][h]["persistence"]
    assert out["units"]["wind_speed"] == "m/s"


def test_evaluate_cli_bad_input(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("time,wind\n2021-01-01 00:00,3\n")
    res = runner.invoke(app, ["wildfire", "evaluate", "--station", str(path), "--format", "csv"])
    assert res.exit_code != 0 and "lacks the columns" in str(res.exception)
    res = runner.invoke(app, ["wildfire", "evaluate", "--station", str(path), "--format", "csv", "--columns", "oops"])
    assert "name=value" in str(res.exception)


def test_simulate_small_end_to_end(tmp_path):
    run = simulate(small_settings(), out=tmp_path / "wf")
    d = run.to_dict()
    assert d["cell_model"]["c_mismatches"] == 0 and d["cell_model"]["fits"]
    assert 0 < d["cell_model"]["flash_bytes"] < 1_048_576 and 0 < d["cell_model"]["ram_bytes"] < 262_144
    assert set(d["seasons"]) == {"A", "B"}
    assert set(d["seasons"]["A"]) == {"ours", "regional", "persistence", "ours-any-hour", "ours-central"}
    # the regional model was trained federated over the 16 cells (4 regions) and centrally for comparison
    fed, central = d["regional_model"]["model"], d["regional_model"]["central"]
    assert fed["trained_by"].startswith("federated") and (fed["clients"], fed["regions"]) == (16, 4)
    # the top of the hierarchy steps server momentum over the regions' pseudo-gradient (the default)
    assert "FedAvgM (server lr 1, beta1 0.5) region -> top" in fed["trained_by"]
    assert d["settings"]["federated_server"]["kind"] == "fedavgm"
    assert fed["bytes_cell_to_region"] > 0 and fed["bytes_region_to_top"] > 0
    assert central["trained_by"].startswith("central") and central["n_samples"] == fed["n_samples"]
    assert set(d["regional_skill"]["A"]) == {"federated", "central"}
    # restorations happen only in the daylight window, except in the any-hour variant
    for method, decisions in run.seasons["A"].items():
        fc = run.forecasts["A"]
        restored_hours = fc.hour_of_day[1:][(decisions.shut[:-1] & ~decisions.shut[1:]).any(1)]
        if method != "ours-any-hour":
            assert ((restored_hours >= 8) & (restored_hours < 18)).all(), method
    for season in run.seasons.values():
        for decisions in season.values():
            s = decisions.score
            assert 0 <= s.recall <= 1 and s.shutoff_cell_hours == s.covered_cell_hours + s.unnecessary_cell_hours
    # the regional baseline switches every cell together
    reg = run.seasons["A"]["regional"].shut
    assert (reg == reg[:, :1]).all()
    page = (tmp_path / "wf" / "wildfire.html").read_text()
    assert page.count("<svg") >= 3 and "http" not in page.split("<svg")[0]
    assert json.loads((tmp_path / "wf" / "wildfire.json").read_text())["done_when"].keys() >= {"cell_fits"}
