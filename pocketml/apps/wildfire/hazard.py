"""Fire-weather hazard per cell-hour: utility PSPS criteria and the Fosberg Fire Weather Index.

The criteria are settings (:class:`HazardCriteria`), defaults from the public PSPS criteria of
California utilities (sources in docs/wildfire.md): a cell-hour is hazardous when the air is dry
(RH ≤ 20 %) *and* the wind is strong (sustained > 25 mph or gusts > 45 mph). Optionally, a
Fosberg index at or above ``ffwi_min`` also counts as hazardous.

The Fosberg Fire Weather Index (Fosberg 1978, as written by Goodrick 2002) combines the
equilibrium moisture content of fine fuels (from temperature and RH) with the wind speed:

    m   = EMC(T °F, H %)              three-piece Simard (1968) regression
    η   = 1 − 2(m/30) + 1.5(m/30)² − 0.5(m/30)³      moisture damping
    FFWI = η · √(1 + U²) / 0.3002      U = wind speed in mph; 0..~100
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pocketml.errors import PocketMLError

MPH = 0.44704  # m/s per mile per hour (exact)


@dataclass(frozen=True)
class HazardCriteria:
    """When a cell-hour counts as fire weather. Speeds in mph, RH in %, as utilities state them.

    Parameters
    ----------
    sustained_mph : hazardous wind when the hourly mean exceeds this (default 25).
    gust_mph : ... or when the hourly peak gust exceeds this (default 45).
    rh_max_pct : and the relative humidity is at or below this (default 20).
    ffwi_min : if set, a Fosberg index at or above it is hazardous on its own (default None).
    """

    sustained_mph: float = 25.0
    gust_mph: float = 45.0
    rh_max_pct: float = 20.0
    ffwi_min: float | None = None

    def check(self) -> HazardCriteria:
        for name, value in asdict(self).items():
            if value is not None and not (np.isfinite(value) and value > 0):
                raise PocketMLError(
                    f"hazard criterion {name}={value} is not a positive number",
                    "use positive thresholds (defaults: 25 mph, 45 mph, 20 %)",
                )
        if self.rh_max_pct > 100:
            raise PocketMLError(f"rh_max_pct={self.rh_max_pct} is above 100 %", "give RH in percent (default 20)")
        return self

    @property
    def sustained_ms(self) -> float:
        return self.sustained_mph * MPH

    @property
    def gust_ms(self) -> float:
        return self.gust_mph * MPH


def fosberg_index(temperature_c: np.ndarray, rh_pct: np.ndarray, wind_ms: np.ndarray) -> np.ndarray:
    """The Fosberg Fire Weather Index, elementwise (inputs in °C, %, m/s; capped at 100)."""
    t_f = np.asarray(temperature_c, np.float64) * 9 / 5 + 32
    h = np.clip(np.asarray(rh_pct, np.float64), 0, 100)
    u = np.asarray(wind_ms, np.float64) / MPH
    m = np.where(
        h < 10,
        0.03229 + 0.281073 * h - 0.000578 * h * t_f,
        np.where(
            h < 50, 2.22749 + 0.160107 * h - 0.01478 * t_f, 21.0606 + 0.005565 * h**2 - 0.00035 * h * t_f - 0.483199 * h
        ),
    )
    r = np.clip(m, 0, None) / 30
    eta = np.clip(1 - 2 * r + 1.5 * r**2 - 0.5 * r**3, 0, None)
    return np.minimum(eta * np.sqrt(1 + u**2) / 0.3002, 100.0)


def hazard(
    wind_ms: np.ndarray,
    gust_ms: np.ndarray | None,
    rh_pct: np.ndarray,
    temperature_c: np.ndarray | None = None,
    criteria: HazardCriteria = HazardCriteria(),
) -> np.ndarray:
    """Boolean fire weather per element, from SI inputs (gust may be None when not measured)."""
    criteria.check()
    windy = np.asarray(wind_ms) > criteria.sustained_ms
    if gust_ms is not None:
        windy = windy | (np.asarray(gust_ms) > criteria.gust_ms)
    out = windy & (np.asarray(rh_pct) <= criteria.rh_max_pct)
    if criteria.ffwi_min is not None:
        if temperature_c is None:
            raise PocketMLError("the ffwi_min criterion needs temperatures", "pass temperature_c, or unset ffwi_min")
        out = out | (fosberg_index(temperature_c, rh_pct, wind_ms) >= criteria.ffwi_min)
    return out


def region_hazard(region, criteria: HazardCriteria = HazardCriteria()) -> np.ndarray:
    """``[hours, cells]`` booleans for a :class:`~pocketml.apps.wildfire.region.Region`."""
    return hazard(region.wind_speed, region.gust, region.relative_humidity, region.temperature, criteria)
