"""Shutoff decisions per cell from hazard forecasts: the rule, and the baselines utilities use.

Every hour ``o`` (a forecast origin, the last observed hour) the rule looks at each cell's
forecast ``p[o, cell, h]`` = probability of fire weather ``h`` hours ahead (h = 1..48) and at the
observation now, and decides whether the cell's lines are de-energized during hour ``o + 1``:

* **de-energize** when the forecast crosses ``on_threshold`` within the next ``notice_hours`` hours,
  or the cell is in fire weather now;
* stay off at least ``min_off_hours``;
* **hysteresis**: a forecast only counts as clear below ``off_threshold`` (< ``on_threshold``);
* **restore** only when the forecast has said clear for the next ``clear_horizon`` hours, with no
  fire weather observed (and, when observations are given, calm: clear of the criteria by a
  margin, :func:`calm`), on ``clear_hours`` consecutive hourly decisions;
* **in daylight**: a restoration may only happen in a local hour inside ``restore_hours``
  (``[start, end)``; default any hour). Utilities re-energize a de-energized line only after crews
  have patrolled it, and patrols (on foot, by truck or helicopter) run in daylight, so lines come
  back during the day; offshore winds peak around dawn, so a night-time lull is the riskiest time
  to restore (see docs/wildfire.md for sources and the measured trade-off).

Baselines (same rule, other forecasts):

* ``regional_forecast``: one coarse forecast for the whole region (the largest probability of any
  cell, i.e. "fire weather somewhere"), all cells switched together: today's practice of
  de-energizing whole circuits on a regional forecast;
* ``persistence_forecast``: fire weather now is forecast for every hour ahead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pocketml.apps.wildfire.hazard import HazardCriteria
from pocketml.errors import PocketMLError


@dataclass(frozen=True)
class ShutoffRule:
    """Settings of the per-cell shutoff rule (see the module docstring).

    Parameters
    ----------
    on_threshold : forecast probability that triggers a shutoff (default 0.3).
    off_threshold : probability below which a forecast hour counts as clear (default 0.1).
    notice_hours : how far ahead a crossing triggers de-energizing now (default 2).
    min_off_hours : minimum length of a shutoff (default 6).
    clear_horizon : forecast hours that must be clear before restoring (default 12).
    clear_hours : consecutive clear decisions needed to restore (default 3).
    restore_hours : local hours ``(start, end)`` in which a restoration may happen, ``start <= hour <
        end`` (default ``(0, 24)``: any hour; the simulation uses daylight, ``(8, 18)``).
    """

    on_threshold: float = 0.3
    off_threshold: float = 0.1
    notice_hours: int = 2
    min_off_hours: int = 6
    clear_horizon: int = 12
    clear_hours: int = 3
    restore_hours: tuple[int, int] = (0, 24)

    @property
    def any_hour(self) -> bool:
        return tuple(self.restore_hours) == (0, 24)

    def check(self, horizon: int) -> ShutoffRule:
        if not 0 < self.off_threshold <= self.on_threshold <= 1:
            raise PocketMLError(
                f"thresholds off={self.off_threshold}, on={self.on_threshold} must satisfy 0 < off <= on <= 1",
                "set off_threshold below on_threshold (hysteresis), e.g. 0.1 and 0.3",
            )
        for name in ("notice_hours", "clear_horizon"):
            if not 1 <= getattr(self, name) <= horizon:
                raise PocketMLError(
                    f"{name}={getattr(self, name)} is outside the forecast's 1..{horizon} hours",
                    f"choose {name} between 1 and {horizon}",
                )
        if self.min_off_hours < 1 or self.clear_hours < 1:
            raise PocketMLError("min_off_hours and clear_hours must be at least 1", "use e.g. 6 and 3")
        start, end = self.restore_hours
        if not 0 <= start < end <= 24:
            raise PocketMLError(
                f"restore_hours {self.restore_hours} is not a window of local hours",
                "pass (start, end) with 0 <= start < end <= 24, e.g. (8, 18) for daylight; (0, 24) for any hour",
            )
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def decide(
    prob: np.ndarray,
    hazard_now: np.ndarray,
    rule: ShutoffRule = ShutoffRule(),
    calm_now: np.ndarray | None = None,
    hour_of_day: np.ndarray | None = None,
) -> np.ndarray:
    """Apply ``rule``: ``prob`` ``[origins, cells, horizon]``, ``hazard_now`` ``[origins, cells]``
    → ``[origins, cells]`` bool, True when the cell is de-energized during the hour after each origin.

    ``calm_now`` (``[origins, cells]``, optional; see :func:`calm`) marks observations clear of the
    criteria by a margin; when given, a cell is only restored in a calm hour. ``hour_of_day``
    (``[origins]``, the local hour 0-23 of the hour *after* each origin, i.e. the hour decided) is
    needed when ``rule.restore_hours`` is not every hour: clear hours keep counting at night, but
    the switch back on waits for the window.
    """
    prob = np.asarray(prob, np.float32)
    if prob.ndim != 3 or hazard_now.shape != prob.shape[:2]:
        raise PocketMLError(
            f"forecast shape {prob.shape} and observation shape {hazard_now.shape} do not match",
            "pass prob [origins, cells, hours] and hazard_now [origins, cells]",
        )
    rule.check(prob.shape[2])
    if rule.any_hour:
        may_restore = np.ones(prob.shape[0], bool)
    elif hour_of_day is None or np.shape(hour_of_day) != prob.shape[:1]:
        raise PocketMLError(
            f"rule.restore_hours={rule.restore_hours} needs the local hour of each decided hour",
            f"pass hour_of_day with {prob.shape[0]} entries (0-23), or restore_hours=(0, 24)",
        )
    else:
        hod = np.asarray(hour_of_day)
        may_restore = (hod >= rule.restore_hours[0]) & (hod < rule.restore_hours[1])
    trigger = (prob[:, :, : rule.notice_hours].max(2) >= rule.on_threshold) | hazard_now
    clear = (prob[:, :, : rule.clear_horizon].max(2) < rule.off_threshold) & ~hazard_now
    if calm_now is not None:
        clear &= np.asarray(calm_now, bool)
    n_o, n_c = prob.shape[:2]
    off = np.zeros(n_c, bool)
    off_for = np.zeros(n_c, np.int64)
    clear_run = np.zeros(n_c, np.int64)
    out = np.zeros((n_o, n_c), bool)
    for k in range(n_o):
        clear_run = np.where(clear[k], clear_run + 1, 0)
        start = ~off & trigger[k]
        off = off | start
        off_for = np.where(start, 0, off_for)
        restore = off & ~trigger[k] & (off_for >= rule.min_off_hours) & (clear_run >= rule.clear_hours)
        restore &= may_restore[k]
        off = off & ~restore
        off_for = off_for + off
        out[k] = off
    return out


def calm(
    wind_ms: np.ndarray, gust_ms: np.ndarray | None, rh_pct: np.ndarray, criteria: HazardCriteria, margin: float = 0.75
) -> np.ndarray:
    """Observations clear of the criteria by a margin: wind and gust below ``margin`` x their
    thresholds, or RH above the RH threshold by ``(1 - margin)`` x 100 points (default: 25 % of
    the wind thresholds, 25 points of RH). The restore rule waits for calm, not just "below"."""
    still = np.asarray(wind_ms) < margin * criteria.sustained_ms
    if gust_ms is not None:
        still &= np.asarray(gust_ms) < margin * criteria.gust_ms
    humid = np.asarray(rh_pct) > criteria.rh_max_pct + (1 - margin) * 100
    return still | humid


def regional_forecast(
    prob: np.ndarray, hazard_now: np.ndarray, calm_now: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The coarse regional baseline's inputs: one forecast for all cells (the region's maximum
    probability), fire weather now anywhere, calm only when every cell is calm."""
    reg = np.broadcast_to(prob.max(1, keepdims=True), prob.shape)
    now = np.broadcast_to(hazard_now.any(1, keepdims=True), hazard_now.shape)
    still = (
        None if calm_now is None else np.broadcast_to(np.asarray(calm_now, bool).all(1, keepdims=True), calm_now.shape)
    )
    return reg, now, still


def persistence_forecast(hazard_now: np.ndarray, horizon: int = 48) -> np.ndarray:
    """Persistence: what is observed now is forecast for every hour ahead."""
    return np.repeat(hazard_now[:, :, None].astype(np.float32), horizon, axis=2)
