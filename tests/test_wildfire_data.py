"""Wildfire data: the synthetic region, the station loaders (files written here), the hazard criteria."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pocketml.apps.wildfire.hazard import MPH, HazardCriteria, fosberg_index, hazard, region_hazard
from pocketml.apps.wildfire.region import generate_region
from pocketml.apps.wildfire.stations import (
    load_station,
    relative_humidity_from_dew_point,
    write_isd_lite,
    write_tmy3,
)
from pocketml.errors import PocketMLError


@pytest.fixture(scope="module")
def region():
    return generate_region(0, rows=10, cols=20, days=2 * 365)


def test_region_shape_cycles_and_seed(region):
    assert region.n_cells == 200 and region.n_hours == 2 * 365 * 24
    t = time.perf_counter()
    small = generate_region(3, rows=4, cols=5, days=120)
    assert time.perf_counter() - t < 5
    np.testing.assert_array_equal(small.gust, generate_region(3, rows=4, cols=5, days=120).gust)
    assert not np.array_equal(small.gust, generate_region(4, rows=4, cols=5, days=120).gust)
    hod = (region.times - region.times.astype("datetime64[D]")).astype(int)
    temp_by_hour = [region.temperature[hod == h].mean() for h in range(24)]
    assert 13 <= int(np.argmax(temp_by_hour)) <= 17  # diurnal: warmest mid-afternoon
    month = region.times.astype("datetime64[M]").astype(int) % 12
    assert region.temperature[month == 7].mean() > region.temperature[month == 0].mean() + 5  # seasonal
    for arr, lo, hi in ((region.relative_humidity, 0, 100), (region.wind_speed, 0, 60), (region.gust, 0, 90)):
        assert np.isfinite(arr).all() and arr.min() >= lo and arr.max() <= hi
    assert (region.gust >= region.wind_speed).all()


def test_offshore_events_are_seasonal_spatially_correlated_and_varied(region):
    haz = region_hazard(region)
    month = region.times.astype("datetime64[M]").astype(int) % 12
    assert haz[np.isin(month, [9, 10, 11, 0])].mean() > 5 * max(haz[np.isin(month, [5, 6, 7])].mean(), 1e-4)
    frac = haz.mean(1)[haz.any(1)]  # share of cells in fire weather when any is
    assert frac.min() < 0.2 and frac.max() > 0.6  # events of varying extent
    # neighbours agree far more than chance: spatial correlation
    grid = haz.reshape(len(haz), region.rows, region.cols)
    same = (grid[:, :, 1:] == grid[:, :, :-1])[haz.reshape(grid.shape)[:, :, 1:]].mean()
    assert same > 0.8
    assert len({e.duration_hours for e in region.events}) > 5
    assert 0 <= region.exposure.min() and region.exposure.max() <= 1


def test_hazard_criteria_and_fosberg():
    c = HazardCriteria()
    wind = np.array([26, 24, 24, 30, 30]) * MPH
    gust = np.array([30, 46, 40, 50, 50]) * MPH
    rh = np.array([15, 20, 10, 21, 19.9])
    np.testing.assert_array_equal(hazard(wind, gust, rh, criteria=c), [True, True, False, False, True])
    np.testing.assert_array_equal(hazard(wind, None, rh, criteria=c), [True, False, False, False, True])
    # Fosberg, by hand: 80 °F, 20 %, 25 mph -> m = 4.2472, eta = 0.74550, FFWI = eta*sqrt(626)/0.3002 = 62.13
    assert fosberg_index((80 - 32) * 5 / 9, 20, 25 * MPH) == pytest.approx(62.13, abs=0.05)
    assert fosberg_index(10, 100, 0) < 1
    assert fosberg_index(40, 2, 60 * MPH) == 100  # capped
    strict = HazardCriteria(ffwi_min=50)
    assert hazard(np.array([5.0]), None, np.array([30.0]), np.array([30.0]), strict)[0] == bool(
        fosberg_index(30, 30, 5) >= 50
    )
    with pytest.raises(PocketMLError, match="positive"):
        hazard(wind, gust, rh, criteria=HazardCriteria(sustained_mph=-1))


# -- station files -------------------------------------------------------------------------
def _one_cell(region, hours=24 * 40, cell=5):
    return (
        region.times[:hours],
        region.temperature[:hours, cell],
        region.relative_humidity[:hours, cell],
        region.wind_speed[:hours, cell],
        region.wind_direction[:hours, cell],
    )


def test_isd_lite_roundtrip_gap_duplicate_unsorted(region, tmp_path):
    times, temp, rh, wind, wdir = _one_cell(region)
    path = write_isd_lite(tmp_path / "s.isd", times, temp, rh, wind, wdir)
    lines = path.read_text().splitlines()
    # a 3-hour gap (interpolated), a 10-hour gap (hour-of-day mean), a duplicate, two rows swapped, -9999 wind
    lines[50] = lines[50][:37] + "-9999".rjust(6) + lines[50][43:]
    rows = lines[:100] + lines[103:200] + lines[210:300] + [lines[299]] + lines[300:]
    rows[10], rows[11] = rows[11], rows[10]
    path.write_text("\n".join(rows) + "\n")
    rec = load_station(path, "isd-lite")
    assert rec.variables == ("wind_speed", "relative_humidity", "temperature") and "gust" not in rec.values
    assert len(rec) == len(times)
    np.testing.assert_array_equal(rec.times, times)
    ok = ~rec.filled["wind_speed"]
    assert np.abs(rec.values["wind_speed"][ok] - wind[ok]).max() <= 0.051  # m/s x 10 rounding
    assert np.abs(rec.values["temperature"][ok] - temp[ok]).max() <= 0.051
    assert np.abs(rec.values["relative_humidity"][ok] - rh[ok]).max() < 1.0  # via dew point at 0.1 °C
    assert rec.filled["wind_speed"].sum() == 1 + 3 + 10 and rec.filled["temperature"].sum() == 13
    notes = " | ".join(rec.notes)
    for words in (
        "not in time order",
        "repeated an earlier timestamp",
        "13 of",
        "linear interpolation",
        "hour-of-day mean",
        "dew point",
    ):
        assert words in notes, (words, notes)
    with pytest.raises(PocketMLError, match="duplicate timestamps"):
        load_station(path, "isd-lite", duplicates="error")


def test_isd_lite_rejects_garbage(tmp_path):
    (tmp_path / "bad.isd").write_text("this is not fixed width\n")
    with pytest.raises(PocketMLError, match="not ISD-Lite"):
        load_station(tmp_path / "bad.isd", "isd-lite")
    with pytest.raises(PocketMLError, match="does not exist"):
        load_station(tmp_path / "missing.isd", "isd-lite")
    with pytest.raises(PocketMLError, match="unknown station format"):
        load_station(tmp_path / "bad.isd", "netcdf")


def test_tmy3_hour_ending_and_mixed_years(region, tmp_path):
    times, temp, rh, wind, wdir = _one_cell(region)
    path = write_tmy3(tmp_path / "t.csv", times, temp, rh, wind, wdir)
    lines = path.read_text().splitlines()
    # TMY3 months come from different years: make February's rows say 1997
    lines = [ln.replace("/2021,", "/1997,") if ln.startswith("02/") else ln for ln in lines]
    path.write_text("\n".join(lines) + "\n")
    rec = load_station(path, "tmy3")
    assert len(rec) == len(times) and not any(f.any() for f in rec.filled.values())
    np.testing.assert_allclose(rec.values["wind_speed"], wind, atol=0.051)
    np.testing.assert_allclose(rec.values["relative_humidity"], rh, atol=0.51)
    assert str(rec.times[0]) == "2001-01-01T00"
    assert any("different years" in n for n in rec.notes) and any("hour-ending" in n for n in rec.notes)
    (tmp_path / "short.csv").write_text("meta\nDate (MM/DD/YYYY),Time (HH:MM),Wspd (m/s)\n01/01/2001,01:00,3\n")
    with pytest.raises(PocketMLError, match="lacks TMY3 columns"):
        load_station(tmp_path / "short.csv", "tmy3")


def _write_csv(path, times, temp_f, rh, wind_mph, gust_mph):
    rows = ["when,T_F,RH,Wind_mph,Gust_mph"]
    rows += [
        f"{str(t).replace('T', ' ')}:00,{a:.2f},{b:.2f},{c:.2f},{d:.2f}"
        for t, a, b, c, d in zip(times, temp_f, rh, wind_mph, gust_mph, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")


def test_generic_csv_column_map_units_and_errors(region, tmp_path):
    times, temp, rh, wind, _ = _one_cell(region, hours=24 * 10)
    gust = region.gust[: len(times), 5]
    path = tmp_path / "c.csv"
    _write_csv(path, times, temp * 9 / 5 + 32, rh, wind / MPH, gust / MPH)
    cols = {
        "time": "when",
        "temperature": "T_F",
        "relative_humidity": "RH",
        "wind_speed": "Wind_mph",
        "gust": "Gust_mph",
    }
    rec = load_station(path, "csv", columns=cols, units={"temperature": "degF", "wind_speed": "mph", "gust": "mph"})
    assert rec.variables == ("wind_speed", "gust", "relative_humidity", "temperature")
    np.testing.assert_allclose(rec.values["temperature"], temp, atol=0.01)
    np.testing.assert_allclose(rec.values["gust"], gust, atol=0.01)
    with pytest.raises(PocketMLError, match="look like °F"):  # °F read as °C
        load_station(path, "csv", columns=cols, units={"wind_speed": "mph", "gust": "mph"})
    with pytest.raises(PocketMLError, match="lacks the columns") as err:
        load_station(path, "csv", columns={"time": "when", "temperature": "T_F"})
    assert "Wind_mph" in err.value.problem  # names the columns the file has
    with pytest.raises(PocketMLError, match="unknown unit"):
        load_station(path, "csv", columns=cols, units={"temperature": "furlongs"})


def test_relative_humidity_from_dew_point_known_values():
    assert relative_humidity_from_dew_point(20.0, 20.0) == pytest.approx(100.0)
    assert relative_humidity_from_dew_point(30.0, 10.0) == pytest.approx(
        28.9, abs=0.2
    )  # e_s 12.28 / 42.46 hPa (tables)
