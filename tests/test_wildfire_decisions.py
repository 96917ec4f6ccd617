"""Shutoff rule, baselines and scores, on small hand-made forecasts with hand-counted answers."""

from __future__ import annotations

import numpy as np
import pytest

from pocketml.apps.wildfire.hazard import HazardCriteria
from pocketml.apps.wildfire.scoring import score
from pocketml.apps.wildfire.shutoff import ShutoffRule, calm, decide, persistence_forecast, regional_forecast
from pocketml.errors import PocketMLError


def _prob(series: list[float], horizon: int = 48) -> np.ndarray:
    """One cell whose forecast for every hour ahead equals ``series[o]`` at origin ``o``."""
    return np.repeat(np.array(series, np.float32)[:, None, None], horizon, axis=2)


def test_rule_threshold_min_duration_hysteresis_and_restore():
    rule = ShutoffRule(
        on_threshold=0.5, off_threshold=0.2, notice_hours=1, min_off_hours=4, clear_horizon=1, clear_hours=2
    )
    p = _prob([0, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0, 0])
    now = np.zeros((10, 1), bool)
    shut = decide(p, now, rule)[:, 0]
    # off from origin 1; min 4 h; then needs 2 consecutive clear decisions (origins 2, 3 are clear,
    # but min duration holds until origin 5 where off_for=4); restored at origin 5
    assert shut.tolist() == [False, True, True, True, True, False, False, False, False, False]
    # hysteresis: 0.3 is below "on" but not "clear": the cell stays off
    p = _prob([0.6, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.1, 0.1, 0.1])
    shut = decide(p, np.zeros((10, 1), bool), rule)[:, 0]
    assert shut.tolist() == [True] * 8 + [False, False]
    # calm: restoration waits for calm observations too
    calm_now = np.array([[True]] * 9 + [[False]])
    calm_now[7:9] = False
    assert decide(p, np.zeros((10, 1), bool), rule, calm_now)[:, 0].all()
    # observed fire weather switches off even with a clear forecast
    assert decide(_prob([0, 0, 0]), np.array([[False], [True], [False]]), rule)[:, 0].tolist() == [False, True, True]


def test_rule_notice_horizon_looks_ahead():
    p = np.zeros((3, 1, 48), np.float32)
    p[0, 0, 5] = 0.9  # fire weather 6 h ahead
    now = np.zeros((3, 1), bool)
    assert not decide(p, now, ShutoffRule(notice_hours=2))[0, 0]
    assert decide(p, now, ShutoffRule(notice_hours=6))[0, 0]


def test_rule_rejects_bad_settings():
    p, now = _prob([0, 0]), np.zeros((2, 1), bool)
    with pytest.raises(PocketMLError, match="off_threshold below"):
        decide(p, now, ShutoffRule(on_threshold=0.2, off_threshold=0.5))
    with pytest.raises(PocketMLError, match="notice_hours"):
        decide(p, now, ShutoffRule(notice_hours=60))
    with pytest.raises(PocketMLError, match="do not match"):
        decide(p, np.zeros((3, 1), bool))


def test_baselines():
    p = np.zeros((2, 3, 48), np.float32)
    p[0, 1, 0] = 0.8
    now = np.array([[False, False, False], [True, False, False]])
    reg, reg_now, reg_calm = regional_forecast(p, now, np.array([[True, False, True]] * 2))
    assert reg[0, :, 0].tolist() == pytest.approx([0.8] * 3) and reg_now[1].all() and not reg_calm.any()
    pers = persistence_forecast(now, 48)
    assert pers.shape == (2, 3, 48) and pers[1, 0].all() and not pers[0].any()
    c = HazardCriteria()
    still = calm(np.array([5.0, 9.0, 9.0]), np.array([10.0, 10.0, 10.0]), np.array([10.0, 10.0, 60.0]), c)
    assert still.tolist() == [True, False, True]  # 9 m/s > 0.75 * 11.18; RH 60 % is humid


def test_score_by_hand():
    hazard = np.array([[0, 0], [1, 0], [1, 0], [0, 0], [1, 1], [0, 0]], bool)
    shut = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [1, 0], [1, 0]], bool)
    s = score(shut, hazard)
    assert (s.hazardous_cell_hours, s.covered_cell_hours, s.unnecessary_cell_hours) == (4, 3, 3)
    assert s.recall == pytest.approx(0.75) and s.csi == pytest.approx(3 / (3 + 1 + 3))
    # restorations: cell 0 at hour 3 (fire weather at hour 4: premature); cell 1 at hour 2 (hazard at 4: premature)
    assert s.restorations == 2 and s.premature_restorations == 2
    assert s.onsets == 3  # cell 0 at hours 1 and 4, cell 1 at hour 4
    prob = np.zeros((6, 2, 48), np.float32)
    prob[2, 0, 2] = 0.9  # issued at hour 1 for hour 4 (3 h ahead)
    s = score(shut, hazard, prob, on_threshold=0.5)
    assert s.notice_median_hours == 0 and s.notice_mean_hours == pytest.approx(1.0)  # leads 0, 3, 0
    tail = np.zeros((6, 2), bool)
    late = score(np.array([[1], [0]], bool), np.array([[0], [0]], bool), restore_tail=tail[:, :1] | True)
    assert late.premature_restorations == 1  # judged with the hours after the span


def test_daylight_restoration_avoids_the_premature_restoration_a_night_lull_causes():
    """The Santa Paula failure in miniature: fire weather 00-02 h, a lull, fire weather again at
    07-08 h (offshore winds peak near dawn) that the forecast misses. Restoring in the night lull
    is counted premature; the daylight rule keeps the line off until 10:00, after the second burst."""
    hours = np.zeros(40, bool)
    hours[0:3] = hours[7:9] = True
    origins = np.arange(24)
    now, target = hours[origins][:, None], hours[origins + 1][:, None]
    p = np.zeros((24, 1, 48), np.float32)  # the forecast never sees the return
    hod = (origins + 1) % 24  # local hour of each decided hour (the record starts at midnight)
    tail = hours[24:30][:, None]
    kw = dict(on_threshold=0.5, off_threshold=0.2, notice_hours=1, min_off_hours=2, clear_horizon=1, clear_hours=1)
    any_hour = decide(p, now, ShutoffRule(**kw), hour_of_day=hod)
    s = score(any_hour, target, restore_tail=tail)
    assert any_hour[:, 0].tolist()[:10] == [True, True, True, False, False, False, False, True, True, False]
    assert (s.restorations, s.premature_restorations) == (2, 1)  # restored at 04:00, fire weather at 07:00
    daylight = decide(p, now, ShutoffRule(**kw, restore_hours=(8, 18)), hour_of_day=hod)
    s2 = score(daylight, target, restore_tail=tail)
    assert daylight[:, 0].tolist()[:10] == [True] * 9 + [False]  # restored at 10:00 only
    assert (s2.restorations, s2.premature_restorations) == (1, 0)
    assert s.recall == 0.75 and s2.recall == 1.0  # the night restoration also missed 07:00 (seen only then)
    assert s2.unnecessary_cell_hours == s.unnecessary_cell_hours + 3  # the cost: off 04-06 h and 09 h
    # a restricted window needs the hours, and a window must be a window
    with pytest.raises(PocketMLError, match="needs the local hour"):
        decide(p, now, ShutoffRule(**kw, restore_hours=(8, 18)))
    with pytest.raises(PocketMLError, match="not a window"):
        decide(p, now, ShutoffRule(**kw, restore_hours=(18, 8)), hour_of_day=hod)
