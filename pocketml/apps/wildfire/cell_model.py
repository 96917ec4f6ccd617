"""The cell model: a tiny autoregressive forecaster that runs on each cell's station board.

One network is shared by every cell (and trained on all of them). It reads a lag window of the
station's own standardised observations (``lags`` hours of each variable) and four time features
(hour of day and day of year as sine/cosine of the first forecast hour) and predicts the next
``step`` hours of every variable, as changes from the last observation. A 48-hour forecast is
that step rolled forward: the predictions are appended to the window and fed back in.

The network is ``Linear → ReLU → Linear → ReLU → Linear``: ops the deploy path supports, so
``pocketml.shrink`` turns it into verified int8 C for a Cortex-M4 station board (see
:func:`shrink_cell_model`). Standardising the inputs (one subtract and one multiply per value)
and adding the predicted changes to the last observation are done by the caller, on the board
too: they are listed in :attr:`CellForecaster.scaling_` for the firmware.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pocketml.apps.wildfire.training import fit_network, one_thread
from pocketml.errors import PocketMLError

HORIZON = 48


def time_features(hours: np.ndarray) -> np.ndarray:
    """``[..., 4]``: sin/cos of hour of day and of day of year for ``datetime64[h]`` times."""
    hours = np.asarray(hours, "datetime64[h]")
    hod = (hours - hours.astype("datetime64[D]")).astype(np.int64) / 24.0
    doy = (hours.astype("datetime64[D]") - hours.astype("datetime64[Y]")).astype(np.int64) / 365.25
    return np.stack(
        [np.sin(2 * np.pi * hod), np.cos(2 * np.pi * hod), np.sin(2 * np.pi * doy), np.cos(2 * np.pi * doy)], axis=-1
    ).astype(np.float32)


class CellNet(nn.Module):
    """The deployed network: features in, ``step x variables`` changes out (standardised units)."""

    def __init__(self, n_in: int, n_out: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@dataclass(frozen=True)
class Scaling:
    """Per-variable standardisation: ``z = (value - mean) / std`` (the firmware applies it too)."""

    variables: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


class CellForecaster:
    """Shared autoregressive station forecaster (sklearn-style: ``fit`` then ``forecast``).

    Parameters
    ----------
    variables : the variables it reads and predicts, in order (default: all four).
    lags : hours of history in the window (default 24).
    step : hours predicted per network call (default 6; 48 h = 8 calls).
    hidden : width of the two hidden layers (default 48).
    epochs : training passes (default 12).
    max_samples : training windows drawn at random (default 100,000).
    min_steps : at least this many optimizer steps, however short the record (default 900).
    seed : seed for sampling and initialisation (default 0).
    """

    def __init__(
        self,
        variables: tuple[str, ...] = ("wind_speed", "gust", "relative_humidity", "temperature"),
        lags: int = 24,
        step: int = 6,
        hidden: int = 48,
        epochs: int = 12,
        max_samples: int = 100_000,
        min_steps: int = 900,
        seed: int = 0,
    ) -> None:
        self.variables = variables
        self.lags = lags
        self.step = step
        self.hidden = hidden
        self.epochs = epochs
        self.max_samples = max_samples
        self.min_steps = min_steps
        self.seed = seed

    # -- shapes ------------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.lags * len(self.variables) + 4

    @property
    def n_outputs(self) -> int:
        return self.step * len(self.variables)

    def _check(self) -> None:
        if self.lags < 1 or self.step < 1 or HORIZON % self.step:
            raise PocketMLError(
                f"lags={self.lags}, step={self.step}: need lags >= 1 and a step dividing {HORIZON}",
                "use e.g. lags=24, step=6",
            )
        if not self.variables:
            raise PocketMLError("the forecaster has no variables", "pass at least one, e.g. ('wind_speed',)")

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, series: np.ndarray, times: np.ndarray, observed: np.ndarray | None = None) -> CellForecaster:
        """Train on ``series`` ``[hours, stations, variables]`` (SI units) at hourly ``times``.

        ``observed`` (same shape, bool) marks measured values; windows whose targets were filled
        in are weighted out of the loss, so gap filling never teaches the model.
        """
        self._check()
        series = np.asarray(series, np.float32)
        if series.ndim != 3 or series.shape[2] != len(self.variables):
            raise PocketMLError(
                f"series has shape {series.shape}, expected [hours, stations, {len(self.variables)}]",
                f"stack the variables {self.variables} on the last axis",
            )
        n_hours = series.shape[0]
        if n_hours < self.lags + self.step + 24:
            raise PocketMLError(
                f"only {n_hours} hours to train on; the forecaster needs at least {self.lags + self.step + 24}",
                "use a longer record",
            )
        mean = series.reshape(-1, series.shape[2]).mean(0)
        std = series.reshape(-1, series.shape[2]).std(0) + 1e-3
        self.scaling_ = Scaling(tuple(self.variables), tuple(map(float, mean)), tuple(map(float, std)))
        z = (series - mean) / std
        obs = np.ones(series.shape, bool) if observed is None else np.asarray(observed, bool)
        rng = np.random.default_rng(self.seed)
        origins = np.arange(self.lags - 1, n_hours - self.step)
        pairs = len(origins) * series.shape[1]
        pick = rng.choice(pairs, size=min(self.max_samples, pairs), replace=False)
        t, s = origins[pick // series.shape[1]], pick % series.shape[1]
        x = self._inputs(z, t, s, times)
        ahead = t[:, None] + np.arange(1, self.step + 1)[None]
        y = (z[ahead, s[:, None]] - z[t, s][:, None]).reshape(len(t), -1)
        w = obs[ahead, s[:, None]].reshape(len(t), -1).astype(np.float32)

        torch.manual_seed(self.seed)
        net = CellNet(self.n_inputs, self.n_outputs, self.hidden)

        def loss(model, xb, yb, wb):
            return (nn.functional.smooth_l1_loss(model(xb), yb, reduction="none") * wb).mean()

        fit_network(
            net, (x, y.astype(np.float32), w), loss, epochs=self.epochs, seed=self.seed, min_steps=self.min_steps
        )
        self.net_ = net
        return self

    def _inputs(self, z: np.ndarray, t: np.ndarray, s: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Network inputs for origins ``t`` (last observed hour) of series ``s``."""
        window = t[:, None] + np.arange(-self.lags + 1, 1)[None]
        lagged = z[window, s[:, None]].reshape(len(t), -1)
        return np.concatenate([lagged, time_features(np.asarray(times)[t] + np.timedelta64(1, "h"))], 1).astype(
            np.float32
        )

    # -- forecasting -------------------------------------------------------------------------
    def forecast(self, history: np.ndarray, origin_times: np.ndarray, hours: int = HORIZON) -> np.ndarray:
        """Roll the forecaster forward: ``history`` ``[N, lags, variables]`` (SI, last row = origin
        hour) → ``[N, hours, variables]`` (SI) for the ``hours`` after each origin."""
        if not hasattr(self, "net_"):
            raise PocketMLError("the forecaster is not trained", "call fit() first")
        history = np.asarray(history, np.float32)
        if history.ndim != 3 or history.shape[1:] != (self.lags, len(self.variables)):
            raise PocketMLError(
                f"history has shape {history.shape}, expected [N, {self.lags}, {len(self.variables)}]",
                "pass the last `lags` hours of every variable",
            )
        mean, std = np.array(self.scaling_.mean, np.float32), np.array(self.scaling_.std, np.float32)
        window = (history - mean) / std
        origin = np.asarray(origin_times, "datetime64[h]")
        out = []
        with torch.no_grad(), one_thread():
            for k in range(0, hours, self.step):
                feats = np.concatenate(
                    [window.reshape(len(window), -1), time_features(origin + np.timedelta64(k + 1, "h"))], 1
                )
                delta = self.net_(torch.from_numpy(feats.astype(np.float32))).numpy()
                block = window[:, -1:, :] + delta.reshape(len(window), self.step, -1)
                out.append(block)
                window = np.concatenate([window, block], 1)[:, -self.lags :]
        z = np.concatenate(out, 1)[:, :hours]
        return z * std + mean

    def forecast_series(
        self, series: np.ndarray, times: np.ndarray, origins: np.ndarray, hours: int = HORIZON
    ) -> np.ndarray:
        """Forecasts from every origin index in ``origins`` for every station of ``series``
        ``[hours, stations, variables]`` → ``[origins, stations, hours, variables]``."""
        origins = np.asarray(origins)
        n_st = series.shape[1]
        window = origins[:, None] + np.arange(-self.lags + 1, 1)[None]  # [O, lags]
        hist = np.asarray(series, np.float32)[window]  # [O, lags, S, V]
        hist = hist.transpose(0, 2, 1, 3).reshape(len(origins) * n_st, self.lags, -1)
        when = np.repeat(np.asarray(times)[origins], n_st)
        return self.forecast(hist, when, hours).reshape(len(origins), n_st, hours, -1)

    def network_inputs(
        self, series: np.ndarray, times: np.ndarray, origins: np.ndarray, station: int = 0
    ) -> np.ndarray:
        """The deployed network's float inputs for some origins of one station (calibration/test)."""
        mean, std = np.array(self.scaling_.mean, np.float32), np.array(self.scaling_.std, np.float32)
        z = (np.asarray(series, np.float32) - mean) / std
        return self._inputs(z, np.asarray(origins), np.full(len(origins), station), times)


@dataclass(frozen=True)
class CellDeployment:
    """The shrunk cell model on a station board: what ``shrink`` measured, plus forecast skill in int8."""

    device: str
    fits: bool
    fit_reason: str
    flash_bytes: int
    ram_bytes: int
    arena_bytes: int
    c_mismatches: int
    n_test: int
    macs_per_call: int
    calls_per_forecast: int
    energy_uj_per_forecast: float  # estimate (cost model), labelled as such
    latency_ms_per_forecast: float  # estimate
    step_mae_float: float  # MAE of one network call's outputs (standardised units) vs truth
    step_mae_int8: float  # same, int8 reference
    out: str

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {**asdict(self), "estimate_note": "energy and latency are cost-model estimates, not measurements"}


def shrink_cell_model(
    forecaster: CellForecaster,
    series: np.ndarray,
    times: np.ndarray,
    device: str,
    out: str | Path,
    *,
    n_calibration: int = 2000,
    n_test: int = 500,
    seed: int = 0,
) -> CellDeployment:
    """Shrink the trained forecaster's network for ``device`` with ``pocketml.shrink`` and verify it.

    The test windows' labels passed to ``shrink`` are the float network's own argmax (shrink's
    accuracy keys then mean agreement, not skill); the forecast skill of the int8 network is
    measured here instead, as the MAE of one call's outputs against the true changes.
    """
    from pocketml.compress.quantize import quantize
    from pocketml.graph.capture import capture
    from pocketml.pipeline import shrink

    rng = np.random.default_rng(seed)
    series = np.asarray(series, np.float32)
    n_hours, n_st = series.shape[:2]
    f = forecaster
    origins = rng.integers(f.lags - 1, n_hours - f.step, size=n_calibration + n_test)
    stations = rng.integers(0, n_st, size=len(origins))
    mean, std = np.array(f.scaling_.mean, np.float32), np.array(f.scaling_.std, np.float32)
    z = (series - mean) / std
    x = f._inputs(z, origins, stations, times)
    ahead = origins[:, None] + np.arange(1, f.step + 1)[None]
    truth = (z[ahead, stations[:, None]] - z[origins, stations][:, None]).reshape(len(origins), -1)
    cal, test = x[:n_calibration], x[n_calibration:]
    with torch.no_grad():
        float_out = f.net_(torch.from_numpy(test)).numpy()
    result = shrink(f.net_, cal, (test, float_out.argmax(1)), device, out, name="wildfire_cell")
    qgraph = quantize(capture(f.net_, torch.from_numpy(cal[:1]), "wildfire_cell"), cal)
    q_out = qgraph.run(qgraph.quantize_input(test)).reshape(len(test), -1)
    info = qgraph.output_info.quant
    int8_out = info.scale * (q_out.astype(np.float32) - info.zero_point)
    calls = HORIZON // f.step
    return CellDeployment(
        device=result.device.id,
        fits=result.fits,
        fit_reason=result.fit_reason,
        flash_bytes=result.flash_bytes,
        ram_bytes=result.ram_bytes,
        arena_bytes=result.arena_bytes,
        c_mismatches=result.c_mismatches,
        n_test=result.n_test,
        macs_per_call=result.macs,
        calls_per_forecast=calls,
        energy_uj_per_forecast=float(result.cost.energy_uj) * calls,
        latency_ms_per_forecast=float(result.cost.latency_ms) * calls,
        step_mae_float=float(np.abs(float_out - truth[n_calibration:]).mean()),
        step_mae_int8=float(np.abs(int8_out - truth[n_calibration:]).mean()),
        out=str(out),
    )
