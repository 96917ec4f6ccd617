"""Forecast skill of the cell model on one real station record (``pocketml wildfire evaluate``).

The forecaster is trained on the first ``train_fraction`` of the record and forecasts 48 hours
ahead from every hour of the rest. Mean absolute error per variable and horizon is compared with

* **persistence**: the value at the forecast origin, for every hour ahead;
* **climatology**: the training period's mean for that hour of the day.

Only measured target values are scored (filled-in hours are skipped, and counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.apps.wildfire.cell_model import HORIZON, CellForecaster
from pocketml.apps.wildfire.stations import StationRecord
from pocketml.errors import PocketMLError

HORIZONS = (1, 6, 12, 24, 48)


@dataclass(frozen=True)
class StationSkill:
    """MAE table: ``mae[variable][str(horizon)] = {"model", "persistence", "climatology"}`` (SI units)."""

    station: str
    source_format: str
    variables: tuple[str, ...]
    n_hours: int
    n_train_hours: int
    n_test_origins: int
    scored_targets: dict[str, int]
    skipped_filled_targets: dict[str, int]
    mae: dict[str, dict[str, dict[str, float]]]
    notes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "station": self.station,
            "format": self.source_format,
            "variables": list(self.variables),
            "units": {"wind_speed": "m/s", "gust": "m/s", "relative_humidity": "%", "temperature": "°C"},
            "n_hours": self.n_hours,
            "n_train_hours": self.n_train_hours,
            "n_test_origins": self.n_test_origins,
            "scored_targets": self.scored_targets,
            "skipped_filled_targets": self.skipped_filled_targets,
            "mae": self.mae,
            "notes": list(self.notes),
        }


def evaluate_station(
    record: StationRecord,
    *,
    train_fraction: float = 0.7,
    seed: int = 0,
    epochs: int = 12,
    forecaster: CellForecaster | None = None,
) -> StationSkill:
    """Train on the first part of ``record``, score 1-48 h forecasts on the rest (see module doc)."""
    if not 0.1 <= train_fraction <= 0.95:
        raise PocketMLError(f"train_fraction={train_fraction} is outside 0.1..0.95", "use e.g. 0.7")
    variables = record.variables
    if "wind_speed" not in variables or "relative_humidity" not in variables or "temperature" not in variables:
        raise PocketMLError(
            f"the record has {variables}; wind_speed, relative_humidity and temperature are needed",
            "load a file with these variables (or map them with --columns)",
        )
    n = len(record)
    cut = int(n * train_fraction)
    f = forecaster or CellForecaster(variables=variables, epochs=epochs, seed=seed)
    if cut < f.lags + f.step + 24 or n - cut < f.lags + HORIZON + 1:
        raise PocketMLError(
            f"the record has {n} hours; too short to train on {train_fraction:.0%} and test 48 h forecasts on the rest",
            "use a record of at least a few weeks (a year is typical)",
        )
    series = np.stack([record.values[v] for v in variables], -1)[:, None, :]  # [hours, 1, V]
    observed = ~np.stack([record.filled[v] for v in variables], -1)[:, None, :]
    f.fit(series[:cut], record.times[:cut], observed[:cut])
    origins = np.arange(max(cut, f.lags - 1), n - 1)
    fc = f.forecast_series(series, record.times, origins)[:, 0]  # [O, 48, V]
    hod = (record.times - record.times.astype("datetime64[D]")).astype(np.int64)
    mae: dict[str, dict[str, dict[str, float]]] = {}
    scored, skipped = {}, {}
    for i, v in enumerate(variables):
        x = series[:, 0, i]
        clim = np.array(
            [x[:cut][hod[:cut] == h].mean() if (hod[:cut] == h).any() else x[:cut].mean() for h in range(24)]
        )
        mae[v] = {}
        total_ok = total_skip = 0
        for h in HORIZONS:
            target = origins + h
            ok = target < n
            ok[ok] &= observed[target[ok], 0, i]
            t_ok = target[ok]
            truth = x[t_ok]
            total_ok += int(ok.sum())
            total_skip += int(((origins + h) < n).sum() - ok.sum())
            if not len(truth):
                continue
            mae[v][str(h)] = {
                "model": round(float(np.abs(fc[ok, h - 1, i] - truth).mean()), 4),
                "persistence": round(float(np.abs(x[origins[ok]] - truth).mean()), 4),
                "climatology": round(float(np.abs(clim[hod[t_ok]] - truth).mean()), 4),
            }
        scored[v], skipped[v] = total_ok, total_skip
    return StationSkill(
        record.name, record.source_format, variables, n, cut, len(origins), scored, skipped, mae, record.notes
    )
