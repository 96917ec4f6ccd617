"""Loaders for real weather-station files, into one hourly record in SI units.

Formats:

* **NOAA ISD-Lite** (fixed width, one observation per line, hours in UTC): year, month, day,
  hour, air temperature (°C x 10), dew point (°C x 10), sea-level pressure (hPa x 10), wind
  direction (degrees), wind speed (m/s x 10), sky cover, 1-h and 6-h precipitation; ``-9999`` is
  missing. RH is derived from temperature and dew point (Magnus formula, Alduchov & Eskridge
  1996). ISD-Lite has no gusts.
* **NREL TMY3 CSV**: a header line of station metadata, a line of column names (``Date
  (MM/DD/YYYY)``, ``Time (HH:MM)`` hour-ending 01:00..24:00 local standard time, ``Dry-bulb (C)``,
  ``RHum (%)``, ``Wdir (degrees)``, ``Wspd (m/s)``, ...). A TMY3 year is stitched from months of
  different years; the months are re-dated onto one nominal year (and the record says so).
* **Generic CSV** with a column map (``{"time": ..., "wind_speed": ..., ...}``) and units per
  column (``degF``, ``mph``, ``knots``, ``km/h``, ``fraction`` ...).

Every record is put on a regular hourly grid. Nothing is dropped or filled silently: duplicate
timestamps, unsorted rows, sub-hourly rows, missing values and gaps are handled by stated
policies, counted, and listed in :attr:`StationRecord.notes`; filled values are flagged in
:attr:`StationRecord.filled`. Values outside physical ranges stop the load with a message that
names the likely unit mistake.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pocketml.errors import PocketMLError
from pocketml.outputs import write_atomic

FORMATS = ("isd-lite", "tmy3", "csv")
SI_VARIABLES = ("wind_speed", "gust", "relative_humidity", "temperature", "wind_direction")
UNITS = {
    "temperature": {
        "degC": (1.0, 0.0),
        "C": (1.0, 0.0),
        "degF": (5 / 9, -32 * 5 / 9),
        "F": (5 / 9, -32 * 5 / 9),
        "K": (1.0, -273.15),
    },
    "dew_point": {
        "degC": (1.0, 0.0),
        "C": (1.0, 0.0),
        "degF": (5 / 9, -32 * 5 / 9),
        "F": (5 / 9, -32 * 5 / 9),
        "K": (1.0, -273.15),
    },
    "wind_speed": {"m/s": (1.0, 0.0), "mph": (0.44704, 0.0), "knots": (0.514444, 0.0), "km/h": (1 / 3.6, 0.0)},
    "gust": {"m/s": (1.0, 0.0), "mph": (0.44704, 0.0), "knots": (0.514444, 0.0), "km/h": (1 / 3.6, 0.0)},
    "relative_humidity": {"%": (1.0, 0.0), "percent": (1.0, 0.0), "fraction": (100.0, 0.0)},
    "wind_direction": {"deg": (1.0, 0.0), "degrees": (1.0, 0.0)},
}
PLAUSIBLE = {  # SI ranges beyond which a value is a unit mistake or a corrupt file
    "temperature": (-60.0, 60.0),
    "relative_humidity": (0.0, 100.5),
    "wind_speed": (0.0, 75.0),
    "gust": (0.0, 110.0),
    "wind_direction": (0.0, 360.0),
}
UNIT_HINT = {
    "temperature": "temperatures look like °F or K: pass units={'temperature': 'degF'} (or 'K')",
    "relative_humidity": "RH must be in % (0-100); for 0-1 fractions pass units={'relative_humidity': 'fraction'}",
    "wind_speed": "wind speeds look like km/h, mph or knots: pass units={'wind_speed': 'km/h'} (or 'mph', 'knots')",
    "gust": "gusts look like km/h, mph or knots: pass units={'gust': 'km/h'} (or 'mph', 'knots')",
    "wind_direction": "directions must be degrees 0-360",
}


@dataclass(frozen=True, eq=False)
class StationRecord:
    """An hourly station record in SI units (m/s, %, °C, degrees), on a regular grid.

    ``values[name]`` is a float32 array per variable (only variables the file has); ``filled[name]``
    is True where the value was filled in (not measured); ``notes`` says everything that was done.
    """

    name: str
    source_format: str
    times: np.ndarray  # datetime64[h], regular hourly
    values: dict[str, np.ndarray]
    filled: dict[str, np.ndarray]
    notes: tuple[str, ...] = field(default=())

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(v for v in ("wind_speed", "gust", "relative_humidity", "temperature") if v in self.values)

    def __len__(self) -> int:
        return len(self.times)


def relative_humidity_from_dew_point(temperature_c: np.ndarray, dew_point_c: np.ndarray) -> np.ndarray:
    """RH (%) from air temperature and dew point, Magnus form (Alduchov & Eskridge 1996)."""

    def es(t):
        return 6.1094 * np.exp(17.625 * t / (t + 243.04))

    return np.clip(100.0 * es(np.asarray(dew_point_c)) / es(np.asarray(temperature_c)), 0.0, 100.0)


def load_station(
    path: str | Path,
    fmt: str,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    max_interpolate_hours: int = 6,
    duplicates: str = "first",
) -> StationRecord:
    """Load a station file of format ``fmt`` (``isd-lite``, ``tmy3`` or ``csv``).

    Parameters
    ----------
    columns : for ``csv``: our name → the file's column (``time`` required; ``wind_speed``,
        ``relative_humidity`` or ``dew_point``, ``temperature`` required; ``gust``,
        ``wind_direction`` optional).
    units : for ``csv``: our name → unit (defaults m/s, %, degC, deg).
    max_interpolate_hours : gaps up to this long are filled by linear interpolation; longer ones
        by the record's mean for that hour of day (default 6). Both are flagged and counted.
    duplicates : ``first`` keeps the first row of a repeated timestamp (and says how many were
        dropped); ``error`` refuses the file.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise PocketMLError(f"unknown station format '{fmt}'", f"use one of {', '.join(FORMATS)}")
    if duplicates not in ("first", "error"):
        raise PocketMLError(f"duplicates='{duplicates}' is not a policy", "use 'first' or 'error'")
    if not path.is_file():
        raise PocketMLError(f"station file {path} does not exist", "check the path given to --station")
    notes: list[str] = []
    if fmt == "isd-lite":
        stamps, raw = _read_isd_lite(path)
    elif fmt == "tmy3":
        stamps, raw = _read_tmy3(path, notes)
    else:
        stamps, raw = _read_csv(path, columns or {}, units or {})
    if "relative_humidity" not in raw and "dew_point" in raw:
        raw["relative_humidity"] = relative_humidity_from_dew_point(raw["temperature"], raw["dew_point"])
        notes.append("relative humidity derived from temperature and dew point (Magnus formula)")
    raw.pop("dew_point", None)
    _check_ranges(raw, path)
    times, values, present = _regularise(stamps, raw, notes, duplicates, path)
    filled = {}
    for name, arr in values.items():
        values[name], filled[name] = _fill(times, arr, present[name], name, max_interpolate_hours, notes)
    return StationRecord(path.stem, fmt, times, values, filled, tuple(notes))


# -- readers: each returns (timestamps datetime64[h] or [m], {name: float64 with NaN = missing}) --
def _read_isd_lite(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(
                [
                    int(line[0:4]),
                    int(line[5:7]),
                    int(line[8:10]),
                    int(line[11:13]),
                    *(int(line[a:b]) for a, b in ((13, 19), (19, 25), (25, 31), (31, 37), (37, 43))),
                ]
            )
        except ValueError as exc:
            raise PocketMLError(
                f"{path.name} line {n} is not ISD-Lite fixed-width: {line[:60]!r}",
                "ISD-Lite lines hold year, month, day, hour then 8 fields of 6 columns "
                "(-9999 = missing); check --format",
            ) from exc
    if not rows:
        raise PocketMLError(f"{path.name} has no observations", "pass a non-empty ISD-Lite file")
    a = np.array(rows, np.int64)
    stamps = np.array([f"{y:04d}-{m:02d}-{d:02d}T{h:02d}" for y, m, d, h in a[:, :4]], "datetime64[h]")

    def field_(col: int, scale: float) -> np.ndarray:
        v = a[:, col].astype(np.float64)
        return np.where(a[:, col] == -9999, np.nan, v / scale)

    direction = field_(7, 1.0)
    direction[direction == 0] = np.nan  # ISD codes calm as 0 with speed 0; no direction
    return stamps, {
        "temperature": field_(4, 10),
        "dew_point": field_(5, 10),
        "wind_direction": direction,
        "wind_speed": field_(8, 10),
    }


TMY3_COLUMNS = {
    "Dry-bulb (C)": "temperature",
    "RHum (%)": "relative_humidity",
    "Wdir (degrees)": "wind_direction",
    "Wspd (m/s)": "wind_speed",
    "Dew-point (C)": "dew_point",
}


def _read_tmy3(path: Path, notes: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with path.open(newline="") as fh:
        lines = list(csv.reader(fh))
    if len(lines) < 3:
        raise PocketMLError(
            f"{path.name} is too short for TMY3 (metadata line, header line, data)",
            "pass a TMY3 CSV as NREL publishes it, or use --format csv with a column map",
        )
    header = [h.strip() for h in lines[1]]
    need = ["Date (MM/DD/YYYY)", "Time (HH:MM)", "Dry-bulb (C)", "Wspd (m/s)"]
    missing = [c for c in need if c not in header]
    if missing or ("RHum (%)" not in header and "Dew-point (C)" not in header):
        raise PocketMLError(
            f"{path.name} lacks TMY3 columns {missing or ['RHum (%)']}; it has {header[:8]}...",
            "pass an NREL TMY3 CSV (line 2 = column names), or use --format csv with a column map",
        )
    col = {h: i for i, h in enumerate(header)}
    data = [r for r in lines[2:] if r]
    dates = [r[col["Date (MM/DD/YYYY)"]] for r in data]
    hours = [r[col["Time (HH:MM)"]] for r in data]
    years = sorted({d[-4:] for d in dates})
    nominal = years[0] if len(years) == 1 else "2001"
    if len(years) > 1:
        notes.append(
            f"TMY3 months come from {len(years)} different years ({', '.join(years)}); "
            f"re-dated onto the nominal year {nominal} (a typical year, not a continuous record)"
        )
    stamps = []
    for d, h in zip(dates, hours, strict=True):
        month, day = d.split("/")[:2]
        hh = int(h.split(":")[0])
        stamps.append(np.datetime64(f"{nominal}-{int(month):02d}-{int(day):02d}T00", "h") + np.timedelta64(hh - 1, "h"))
    notes.append("TMY3 hour-ending times (01:00-24:00) shifted to hour-beginning")
    out = {}
    for name, var in TMY3_COLUMNS.items():
        if name in col:
            out[var] = np.array([_num(r[col[name]]) for r in data])
    return np.array(stamps, "datetime64[h]"), out


def _read_csv(path: Path, columns: dict[str, str], units: dict[str, str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        rows = list(reader)
    colmap = {
        "time": "time",
        "wind_speed": "wind_speed",
        "relative_humidity": "relative_humidity",
        "temperature": "temperature",
        "gust": "gust",
        "wind_direction": "wind_direction",
        "dew_point": "dew_point",
    } | columns
    unknown = set(columns) - {"time", *UNITS}
    if unknown:
        raise PocketMLError(
            f"unknown names in the column map: {sorted(unknown)}", f"map these names: time, {', '.join(UNITS)}"
        )
    required = ["time", "wind_speed", "temperature"]
    missing = [k for k in required if colmap[k] not in header]
    if colmap["relative_humidity"] not in header and colmap["dew_point"] not in header:
        missing.append("relative_humidity (or dew_point)")
    if missing:
        raise PocketMLError(
            f"{path.name} lacks the columns for {missing}; its columns are {header}",
            "map them with columns=... (CLI: --columns time=Date,wind_speed=Wind,...)",
        )
    for name, unit in units.items():
        if name not in UNITS or unit not in UNITS[name]:
            raise PocketMLError(
                f"unknown unit '{unit}' for '{name}'",
                f"units for {name}: {', '.join(UNITS.get(name, {}))}"
                if name in UNITS
                else f"units can be given for {', '.join(UNITS)}",
            )
    try:
        stamps = np.array([np.datetime64(r[colmap["time"]].strip().replace(" ", "T").rstrip("Z"), "m") for r in rows])
    except ValueError as exc:
        raise PocketMLError(
            f"{path.name}: a time in column '{colmap['time']}' is not ISO 8601 ({exc})",
            "write times as YYYY-MM-DD HH:MM (local standard time or UTC, consistently)",
        ) from exc
    out = {}
    for name in UNITS:
        if colmap.get(name) in header:
            scale, offset = UNITS[name][units.get(name, next(iter(UNITS[name])))]
            out[name] = np.array([_num(r[colmap[name]]) for r in rows]) * scale + offset
    return stamps, out


def _num(text: str) -> float:
    text = (text or "").strip()
    try:
        v = float(text)
    except ValueError:
        return np.nan
    return np.nan if v in (-9999.0, -999.0, 9999.0) else v


def _check_ranges(raw: dict[str, np.ndarray], path: Path) -> None:
    for name, (lo, hi) in PLAUSIBLE.items():
        if name not in raw:
            continue
        v = raw[name][np.isfinite(raw[name])]
        if len(v) == 0:
            raise PocketMLError(f"{path.name}: every {name} value is missing", "pass a file with measured values")
        bad = (v < lo) | (v > hi)
        unit_slip = name == "relative_humidity" and v.max() <= 1.0 and len(v) > 24
        if bad.mean() > 0.001 or unit_slip:
            raise PocketMLError(
                f"{path.name}: {name} values outside {lo}..{hi} (SI) in {int(bad.sum())} rows "
                f"(range {v.min():.1f}..{v.max():.1f})",
                UNIT_HINT[name],
            )
        raw[name] = np.where(np.isfinite(raw[name]) & ((raw[name] < lo) | (raw[name] > hi)), np.nan, raw[name])


def _regularise(stamps, raw, notes, duplicates, path):
    """Sort, collapse sub-hourly rows into hours, resolve duplicates, and lay out an hourly grid."""
    order = np.argsort(stamps, kind="stable")
    if (np.diff(stamps.astype("datetime64[m]").astype(np.int64)) < 0).any():
        notes.append(
            f"rows were not in time order ({int((np.diff(stamps.astype('datetime64[m]').astype(np.int64)) < 0).sum())} "
            "steps backwards); sorted by time"
        )
    stamps = stamps[order]
    raw = {k: v[order] for k, v in raw.items()}
    exact = stamps.astype("datetime64[m]")
    dup = np.concatenate([[False], exact[1:] == exact[:-1]])
    if dup.any():
        if duplicates == "error":
            first = exact[np.flatnonzero(dup)[0]]
            raise PocketMLError(
                f"{path.name}: {int(dup.sum())} duplicate timestamps (first {first})",
                "remove the duplicates, or load with duplicates='first'",
            )
        notes.append(f"{int(dup.sum())} rows repeated an earlier timestamp; kept the first of each")
        stamps, raw = stamps[~dup], {k: v[~dup] for k, v in raw.items()}
    hours = stamps.astype("datetime64[h]")
    sub = int(len(hours) - len(np.unique(hours)))
    if sub:
        notes.append(f"{sub} sub-hourly rows averaged into their hour (wind direction: vector mean)")
    grid = np.arange(hours.min(), hours.max() + np.timedelta64(1, "h"), dtype="datetime64[h]")
    idx = (hours - grid[0]).astype(np.int64)
    values, present = {}, {}
    for name, v in raw.items():
        ok = np.isfinite(v)
        if name == "wind_direction":
            rad = np.deg2rad(np.where(ok, v, 0))
            s = np.bincount(idx[ok], np.sin(rad[ok]), len(grid))
            c = np.bincount(idx[ok], np.cos(rad[ok]), len(grid))
            cnt = np.bincount(idx[ok], minlength=len(grid))
            mean = np.mod(np.rad2deg(np.arctan2(s, c)), 360)
        else:
            total = np.bincount(idx[ok], v[ok], len(grid))
            cnt = np.bincount(idx[ok], minlength=len(grid))
            mean = total / np.maximum(cnt, 1)
        values[name] = np.where(cnt > 0, mean, np.nan)
        present[name] = cnt > 0
    missing_hours = len(grid) - len(np.unique(hours))
    if missing_hours:
        notes.append(f"{missing_hours} of {len(grid)} hours had no row at all (gaps in the record)")
    return grid, values, present


def _fill(times, values, present, name, max_interp, notes):
    """Fill missing hours: short gaps by linear interpolation, long ones by the hour-of-day mean."""
    values = values.astype(np.float64)
    missing = ~present
    if not missing.any():
        return values.astype(np.float32), missing
    idx = np.arange(len(values))
    run_id = np.cumsum(np.concatenate([[True], missing[1:] != missing[:-1]]))
    run_len = np.bincount(run_id)[run_id]
    short = missing & (run_len <= max_interp)
    inner = short & (idx > np.flatnonzero(present)[0]) & (idx < np.flatnonzero(present)[-1])
    if name == "wind_direction":
        rad = np.deg2rad(values[present])
        s = np.interp(idx, idx[present], np.sin(rad))
        c = np.interp(idx, idx[present], np.cos(rad))
        interp = np.mod(np.rad2deg(np.arctan2(s, c)), 360)
    else:
        interp = np.interp(idx, idx[present], values[present])
    out = np.where(inner, interp, values)
    rest = missing & ~inner
    if rest.any():
        hod = (times - times.astype("datetime64[D]")).astype(np.int64)
        clim = np.array(
            [
                np.nanmean(np.where(present & (hod == h), values, np.nan))
                if (present & (hod == h)).any()
                else np.nanmean(values[present])
                for h in range(24)
            ]
        )
        out = np.where(rest, clim[hod], out)
    notes.append(
        f"{name}: {int(missing.sum())} missing hours filled ({int(inner.sum())} by linear interpolation "
        f"over gaps <= {max_interp} h, {int(rest.sum())} by the hour-of-day mean); flagged in `filled`"
    )
    return out.astype(np.float32), missing


def dew_point_from_relative_humidity(temperature_c: np.ndarray, rh_pct: np.ndarray) -> np.ndarray:
    """Dew point (°C) from temperature and RH: the inverse of the Magnus form above."""
    g = np.log(np.clip(np.asarray(rh_pct, np.float64), 0.1, 100) / 100) + 17.625 * temperature_c / (
        243.04 + temperature_c
    )
    return 243.04 * g / (17.625 - g)


def write_isd_lite(
    path: str | Path,
    times: np.ndarray,
    temperature_c: np.ndarray,
    rh_pct: np.ndarray,
    wind_ms: np.ndarray,
    direction_deg: np.ndarray,
) -> Path:
    """Write an ISD-Lite file (fixed width, scaled integers, -9999 for NaN); atomically."""
    dew = dew_point_from_relative_humidity(temperature_c, rh_pct)

    def q(v, scale):
        return -9999 if not np.isfinite(v) else int(round(float(v) * scale))

    lines = []
    stamps = np.asarray(times, "datetime64[h]")
    for t, temp, dp, ws, wd in zip(stamps, temperature_c, dew, wind_ms, direction_deg, strict=True):
        y, mo, d, h = str(t)[:4], str(t)[5:7], str(t)[8:10], str(t)[11:13]
        fields = [q(temp, 10), q(dp, 10), -9999, q(wd, 1) if np.isfinite(wd) else -9999, q(ws, 10), -9999, -9999, -9999]
        lines.append(f"{y} {mo} {d} {h}" + "".join(f"{f:6d}" for f in fields))
    return _write_text(Path(path), "\n".join(lines) + "\n")


def write_tmy3(
    path: str | Path,
    times: np.ndarray,
    temperature_c: np.ndarray,
    rh_pct: np.ndarray,
    wind_ms: np.ndarray,
    direction_deg: np.ndarray,
    station: str = "690150",
) -> Path:
    """Write a TMY3-style CSV (metadata line, NREL column names, hour-ending times); atomically."""
    head = "Date (MM/DD/YYYY),Time (HH:MM),Dry-bulb (C),Dew-point (C),RHum (%),Wdir (degrees),Wspd (m/s)"
    rows = [f'{station},"SYNTHETIC STATION",CA,-8.0,34.300,-116.167,626', head]
    dew = dew_point_from_relative_humidity(temperature_c, rh_pct)
    for t, temp, dp, rh, wd, ws in zip(
        np.asarray(times, "datetime64[h]"), temperature_c, dew, rh_pct, direction_deg, wind_ms
    , strict=True):
        end = t + np.timedelta64(1, "h")  # hour ending; midnight is written 24:00 of the day before
        day, hour = (
            (t.astype("datetime64[D]"), 24)
            if str(end)[11:13] == "00"
            else (end.astype("datetime64[D]"), int(str(end)[11:13]))
        )
        y, m, d = str(day).split("-")
        rows.append(f"{m}/{d}/{y},{hour:02d}:00,{temp:.1f},{dp:.1f},{rh:.0f},{wd:.0f},{ws:.1f}")
    return _write_text(Path(path), "\n".join(rows) + "\n")


def _write_text(path: Path, text: str) -> Path:
    return write_atomic(path, text)
