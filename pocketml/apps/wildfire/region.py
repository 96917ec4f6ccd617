"""A seeded synthetic region: a grid of 1-square-mile cells, each with a weather station.

``generate_region(seed)`` returns hourly temperature, relative humidity, wind speed, gusts and
wind direction for every cell over ``days`` days, vectorised in numpy (a 210-cell, 3-year region
takes a few seconds). The weather has

* a seasonal cycle (warmest in August) and a diurnal cycle (warmest and windiest mid-afternoon,
  sea breeze from the south-west), with regional synoptic anomalies (AR(1), ~2-day memory) and
  small per-cell noise (AR(1), ~6-hour memory);
* terrain: an elevation field rising to the north-east (the passes), and an *exposure* in [0, 1]
  per cell (ridges and canyon mouths facing the offshore flow); exposure scales event winds;
* offshore-wind events, Santa Ana-like: mostly September to March (peak November-December),
  each with its own origin on the north-eastern edge, spatial extent (a quarter of the region to
  all of it), strength and duration (12-96 h). The dry air arrives first (RH falls ~8 h before the
  wind peaks), the direction swings offshore (north-east), the wind ramps up over 6-16 h and
  spreads downwind from the origin at 2-6 mph, strongest at night and in the morning, with
  compressional warming; then it ramps down;
* winter storms: strong south-westerly winds with high humidity (windy but not fire weather),
  so a forecaster cannot equate wind with hazard.

Everything is a pure function of the seed and the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from pocketml.errors import PocketMLError

VARIABLES = ("wind_speed", "gust", "relative_humidity", "temperature")


@dataclass(frozen=True)
class OffshoreEvent:
    """One Santa Ana-like event: where it starts, how far it reaches, how strong and how long."""

    start_hour: int  # hour index of the wind onset at the origin
    duration_hours: int  # plateau length
    ramp_up_hours: int
    ramp_down_hours: int
    strength: float  # added offshore wind at the origin, m/s
    extent_miles: float  # e-folding radius of the affected area
    origin: tuple[float, float]  # (x, y) in miles, on the north-eastern edge
    spread_mph: float  # how fast the onset moves downwind


@dataclass(frozen=True, eq=False)
class Region:
    """Hourly weather for every cell of a grid. Arrays are ``[hours, cells]``, SI units.

    Cells are numbered row-major; ``xy`` holds cell centres in miles (x east, y north).
    """

    seed: int
    rows: int
    cols: int
    start: np.datetime64  # first hour (local standard time)
    xy: np.ndarray  # [C, 2] miles
    elevation: np.ndarray  # [C] m
    exposure: np.ndarray  # [C] in [0, 1]
    temperature: np.ndarray  # °C
    relative_humidity: np.ndarray  # %
    wind_speed: np.ndarray  # m/s, hourly mean
    gust: np.ndarray  # m/s, hourly peak
    wind_direction: np.ndarray  # degrees the wind comes from
    events: tuple[OffshoreEvent, ...]

    @property
    def n_hours(self) -> int:
        return self.temperature.shape[0]

    @property
    def n_cells(self) -> int:
        return self.temperature.shape[1]

    @property
    def times(self) -> np.ndarray:
        return self.start + np.arange(self.n_hours).astype("timedelta64[h]")

    def variable(self, name: str) -> np.ndarray:
        if name not in VARIABLES and name != "wind_direction":
            raise PocketMLError(f"unknown weather variable '{name}'", f"use one of {VARIABLES + ('wind_direction',)}")
        return getattr(self, name)

    def hour_index(self, when: str | np.datetime64) -> int:
        """The index of the first hour at or after ``when`` (clipped to the record)."""
        t = np.datetime64(when, "h")
        return int(np.clip((t - self.start).astype(int), 0, self.n_hours))

    def slice(self, first: int, last: int) -> Region:
        """The same region over hours ``first:last`` (events keep their absolute hour indices)."""
        cut = slice(first, last)
        return Region(
            self.seed,
            self.rows,
            self.cols,
            self.start + np.timedelta64(first, "h"),
            self.xy,
            self.elevation,
            self.exposure,
            self.temperature[cut],
            self.relative_humidity[cut],
            self.wind_speed[cut],
            self.gust[cut],
            self.wind_direction[cut],
            tuple(e for e in self.events if first <= e.start_hour < last),
        )


def generate_region(
    seed: int = 0,
    rows: int = 15,
    cols: int = 14,
    days: int = 3 * 365,
    start: str = "2021-01-01",
    events_per_season: float = 14.0,
) -> Region:
    """Generate a synthetic region (see the module docstring). ``rows * cols`` cells of 1 mi².

    Parameters
    ----------
    seed : the generator seed (same seed and arguments, same region, bit for bit).
    rows, cols : the grid (default 15 x 14 = 210 cells).
    days : length of the hourly record (default 3 years).
    start : the first day (local standard time).
    events_per_season : mean number of offshore events per September-March season.
    """
    if rows < 2 or cols < 2:
        raise PocketMLError(
            f"a region needs at least a 2 x 2 grid, got {rows} x {cols}", "pass rows >= 2 and cols >= 2"
        )
    if days < 2:
        raise PocketMLError(f"days must be at least 2, got {days}", "pass a longer record (the default is 3 years)")
    rng = np.random.default_rng(seed)
    n_cells, n_hours = rows * cols, days * 24
    t0 = np.datetime64(start, "h")
    yy, xx = np.divmod(np.arange(n_cells), cols)
    xy = np.stack([xx + 0.5, (rows - 1 - yy) + 0.5], axis=1).astype(np.float64)  # row 0 is the north edge

    elevation, exposure = _terrain(rng, rows, cols, xy)
    times = t0 + np.arange(n_hours).astype("timedelta64[h]")
    hod = (times - times.astype("datetime64[D]")).astype(int).astype(np.float64)
    doy = (times.astype("datetime64[D]") - times.astype("datetime64[Y]")).astype(int).astype(np.float64)
    seasonal = np.cos(2 * np.pi * (doy - 220) / 365.25)[:, None]  # +1 early August
    diurnal = np.cos(2 * np.pi * (hod - 15) / 24)[:, None]  # +1 at 15:00

    syn_t, syn_w, syn_h = (_ar1(rng, n_hours, 1, 48.0) for _ in range(3))
    cell_t, cell_w, cell_h = (_ar1(rng, n_hours, n_cells, 6.0) for _ in range(3))
    temperature = (
        17 + 6 * seasonal + (5 + 2 * seasonal) * diurnal - 0.0065 * elevation[None] + 2.5 * syn_t + 0.7 * cell_t
    )
    humidity = 62 - 12 * seasonal - 16 * diurnal - 4 * syn_t + 6 * syn_h + 4 * cell_h
    wind = np.maximum(
        0.3, 2.2 + 1.6 * exposure[None] + 1.3 * (diurnal + 1) * (0.6 + 0.4 * seasonal) + 0.9 * syn_w + 0.5 * cell_w
    )
    direction = 235 + 25 * diurnal + 20 * cell_h  # onshore, south-westerly
    gust_factor = 1.35 + 0.2 * exposure[None] + 0.08 * np.abs(cell_w)

    events = _draw_events(rng, times, doy, rows, cols, events_per_season)
    off_wind = np.zeros((n_hours, n_cells))
    dryness = np.zeros((n_hours, n_cells))
    veer = np.zeros((n_hours, n_cells))
    for ev in events:
        _add_event(ev, xy, exposure, hod, off_wind, dryness, veer)
    _add_storms(rng, doy, n_cells, wind, humidity, direction)

    temperature = temperature + 6.0 * dryness
    humidity = np.clip(humidity * (1 - 0.85 * dryness), 3.0, 100.0)
    wind = wind * (1 - 0.7 * veer) + off_wind
    gust_factor = gust_factor + 0.3 * np.minimum(off_wind / 10, 1.0)
    gust = wind * gust_factor + 0.6 * np.abs(_ar1(rng, n_hours, n_cells, 1.0))
    direction = np.mod(direction * (1 - veer) + (40 + 10 * cell_h) * veer, 360.0)
    f32 = np.float32
    return Region(
        seed,
        rows,
        cols,
        t0,
        xy,
        elevation.astype(f32),
        exposure.astype(f32),
        temperature.astype(f32),
        humidity.astype(f32),
        wind.astype(f32),
        gust.astype(f32),
        direction.astype(f32),
        tuple(events),
    )


def _ar1(rng: np.random.Generator, n: int, k: int, memory_hours: float) -> np.ndarray:
    """Unit-variance AR(1) noise, ``[n, k]``, with e-folding memory ``memory_hours``."""
    phi = np.exp(-1.0 / memory_hours)
    noise = rng.standard_normal((n, k)) * np.sqrt(1 - phi**2)
    out = lfilter([1.0], [1.0, -phi], noise, axis=0)
    return out


def _terrain(rng: np.random.Generator, rows: int, cols: int, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevation rising to the north-east plus smooth hills; exposure from height and NE-facing slope."""
    field = rng.standard_normal((rows + 4, cols + 4))
    kernel = np.outer(*(2 * [np.array([1, 4, 6, 4, 1], float) / 16]))
    smooth = np.zeros((rows, cols))
    for dy in range(5):
        for dx in range(5):
            smooth += kernel[dy, dx] * field[dy : dy + rows, dx : dx + cols]
    ramp = (xy[:, 0] / cols + xy[:, 1] / rows) / 2
    elevation = 200 + 900 * ramp + 250 * smooth.ravel()
    grid = elevation.reshape(rows, cols)
    # slope facing the offshore (north-east) flow: rise toward the east and toward the north
    d_east = np.gradient(grid, axis=1).ravel()
    d_north = -np.gradient(grid, axis=0).ravel()
    facing = (d_east + d_north) / 2
    raw = 0.6 * (elevation - elevation.min()) / np.ptp(elevation) + 0.4 * (facing - facing.min()) / (
        np.ptp(facing) + 1e-9
    )
    exposure = (raw - raw.min()) / (np.ptp(raw) + 1e-9)
    return elevation, exposure


def _season_weight(doy: np.ndarray) -> np.ndarray:
    """Relative rate of offshore events by day of year: near zero in summer, peak in late November."""
    return np.clip(np.cos(2 * np.pi * (doy - 330) / 365.25), 0, None) ** 1.5


def _draw_events(rng, times, doy, rows, cols, per_season) -> list[OffshoreEvent]:
    weight = _season_weight(doy[::24])
    per_day = per_season * weight / max(weight[:365].sum(), 1e-9)  # ~per_season in a full year's season
    starts = np.flatnonzero(rng.random(len(per_day)) < per_day)
    events = []
    for day in starts:
        on_north = rng.random() < 0.5
        origin = (
            (rng.uniform(cols * 0.3, cols), float(rows)) if on_north else (float(cols), rng.uniform(rows * 0.3, rows))
        )
        diag = float(np.hypot(rows, cols))
        events.append(
            OffshoreEvent(
                start_hour=int(day * 24 + rng.integers(0, 24)),
                duration_hours=int(rng.integers(12, 97)),
                ramp_up_hours=int(rng.integers(6, 17)),
                ramp_down_hours=int(rng.integers(6, 19)),
                strength=float(rng.uniform(7, 17)),
                extent_miles=float(diag * rng.uniform(0.2, 1.1)),
                origin=(float(origin[0]), float(origin[1])),
                spread_mph=float(rng.uniform(2, 6)),
            )
        )
    return events


def _ramp(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _add_event(ev: OffshoreEvent, xy, exposure, hod, off_wind, dryness, veer) -> None:
    """Add one event's offshore wind, dryness and veering into the ``[hours, cells]`` arrays (in place)."""
    dist = np.hypot(xy[:, 0] - ev.origin[0], xy[:, 1] - ev.origin[1])
    reach = np.exp(-((dist / ev.extent_miles) ** 2))
    dry_reach = np.exp(-((dist / (1.3 * ev.extent_miles)) ** 2))
    delay = dist / ev.spread_mph
    lead_dry, lead_veer = 8, 3
    first = max(0, ev.start_hour - lead_dry - 2)
    last = min(
        off_wind.shape[0],
        ev.start_hour + int(delay.max()) + ev.ramp_up_hours + ev.duration_hours + ev.ramp_down_hours + 2,
    )
    if first >= last:
        return
    tau = np.arange(first, last)[:, None] - ev.start_hour - delay[None]  # hours since local onset

    def envelope(shift: float) -> np.ndarray:
        up = _ramp((tau + shift) / ev.ramp_up_hours)
        down = 1 - _ramp((tau - ev.ramp_up_hours - ev.duration_hours) / ev.ramp_down_hours)
        return up * down

    night = 1 + 0.25 * np.cos(2 * np.pi * (hod[first:last] - 6) / 24)[:, None]  # strongest ~06:00
    cut = slice(first, last)
    off_wind[cut] += ev.strength * reach * (0.45 + 0.75 * exposure) * envelope(0.0) * night
    dryness[cut] = np.maximum(dryness[cut], np.minimum(1.0, 1.1 * dry_reach) * envelope(lead_dry))
    veer[cut] = np.maximum(veer[cut], np.minimum(1.0, 1.5 * dry_reach) * envelope(lead_veer))


def _add_storms(rng, doy, n_cells, wind, humidity, direction) -> None:
    """Winter storms: 1-2 day bursts of strong, humid south-westerly wind over the whole region."""
    n_hours = wind.shape[0]
    winter = np.clip(np.cos(2 * np.pi * (doy[::24] - 15) / 365.25), 0, None)
    for day in np.flatnonzero(rng.random(len(winter)) < 0.03 * winter):
        first, length = int(day * 24), int(rng.integers(18, 49))
        t = np.arange(length)[:, None]
        env = np.sin(np.pi * t / length) ** 2
        cut = slice(first, min(n_hours, first + length))
        env = env[: cut.stop - cut.start]
        wind[cut] += rng.uniform(5, 12) * env * (0.8 + 0.4 * rng.random(n_cells))[None]
        humidity[cut] = np.clip(humidity[cut] + 35 * env, 0, 100)
        direction[cut] = direction[cut] * (1 - env) + 220 * env
