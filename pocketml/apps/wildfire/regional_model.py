"""The regional model: a GRU over every cell's recent history, with the whole region in view,
predicting each cell's probability of fire weather 1 to 48 hours ahead.

For a cell ``c`` and a forecast origin ``t`` (the last observed hour) the GRU reads the last
``lags`` hours of

* the cell's own station: wind, gust, RH, temperature, wind direction (sine/cosine), hazard now;
* its neighbourhood (cells within ~3 miles, Gaussian-weighted): mean wind and RH;
* the whole region: strongest wind and gust, driest RH, mean RH, the fraction of cells in fire
  weather and the fraction with offshore (north-easterly) wind — what a regional operator sees;

and its head adds the cell's static features (exposure, position), the time of day and year, and
the **cell model's own 48-hour forecast** (wind, gust, RH per hour): the two models are combined
here, the regional model learning how far to trust the station's forecast in each situation.
Out come 48 logits, one per hour ahead.

Training is *federated over the cells* when :mod:`pocketml.federated` offers a usable API (see
:func:`train_regional`); until then it runs centrally on the pooled samples, and the result says
which (``trained_by``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pocketml.apps.wildfire.cell_model import HORIZON, CellForecaster, time_features
from pocketml.apps.wildfire.hazard import HazardCriteria, region_hazard
from pocketml.apps.wildfire.region import VARIABLES, Region
from pocketml.apps.wildfire.training import fit_network, one_thread
from pocketml.errors import PocketMLError

SCALE = np.array([10.0, 20.0, 50.0, 20.0], np.float32)  # wind, gust m/s; RH %; temperature °C
N_HOURLY = 15
N_STATIC = 3 + 4 + 3 * HORIZON


class RegionalNet(nn.Module):
    """GRU over hourly features, then a head over [last hidden state, static and forecast features]."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.gru = nn.GRU(N_HOURLY, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + N_STATIC, 96), nn.ReLU(), nn.Linear(96, HORIZON))

    def forward(self, seq: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(seq)
        return self.head(torch.cat([h[-1], static], 1))


def hourly_features(region: Region, first: int, last: int, criteria: HazardCriteria | None = None) -> np.ndarray:
    """``[last - first, cells, 15]`` per-hour inputs of the GRU (scaled to roughly unit range)."""
    cut = slice(first, last)
    raw = np.stack([region.variable(v)[cut] for v in VARIABLES], -1) / SCALE  # [n, C, 4]
    rad = np.deg2rad(region.wind_direction[cut])
    haz = region_hazard(region.slice(first, last), criteria or HazardCriteria()).astype(np.float32)
    d = np.hypot(*(region.xy[:, None, :] - region.xy[None, :, :]).transpose(2, 0, 1))
    w = np.exp(-((d / 2.0) ** 2))
    w = (w / w.sum(1, keepdims=True)).astype(np.float32)
    neigh = np.stack([raw[..., 0] @ w.T, raw[..., 2] @ w.T], -1)
    offshore = ((region.wind_direction[cut] > 0) & (region.wind_direction[cut] < 90)).mean(1)
    reg = np.stack(
        [raw[..., 0].max(1), raw[..., 1].max(1), raw[..., 2].min(1), raw[..., 2].mean(1), haz.mean(1), offshore], -1
    )  # [n, 6]
    n, c = raw.shape[:2]
    return np.concatenate(
        [
            raw,
            np.sin(rad)[..., None],
            np.cos(rad)[..., None],
            haz[..., None],
            neigh,
            np.broadcast_to(reg[:, None, :], (n, c, 6)),
        ],
        -1,
    ).astype(np.float32)


def static_features(region: Region, origins: np.ndarray, cell_forecast: np.ndarray) -> np.ndarray:
    """``[origins, cells, N_STATIC]``: exposure, position, time, and the cell model's forecast."""
    o, c = len(origins), region.n_cells
    pos = np.concatenate([region.exposure[:, None], region.xy / [region.cols, region.rows]], 1)
    tf = time_features(region.times[origins] + np.timedelta64(1, "h"))
    fc = (cell_forecast[..., :3] / SCALE[:3]).reshape(o, c, -1)  # wind, gust, RH per hour
    return np.concatenate(
        [np.broadcast_to(pos[None], (o, c, 3)), np.broadcast_to(tf[:, None], (o, c, 4)), fc], -1
    ).astype(np.float32)


@dataclass(frozen=True)
class RegionalTraining:
    """How the regional model was trained (for the result and the report)."""

    trained_by: str  # "federated (...)" or "central (...)"
    n_samples: int
    epochs: int
    final_loss: float


class RegionalHazardModel:
    """Per-cell hazard probability 1-48 h ahead from the region's histories and the cell model.

    Parameters
    ----------
    lags : hours of history the GRU reads (default 24).
    hidden : GRU width (default 32).
    epochs : training passes (default 8).
    n_origins : forecast origins sampled for training, half of them near fire weather (default 600).
    seed : sampling and initialisation seed (default 0).
    """

    def __init__(
        self,
        lags: int = 24,
        hidden: int = 32,
        epochs: int = 8,
        n_origins: int = 600,
        seed: int = 0,
        criteria: HazardCriteria | None = None,
    ) -> None:
        self.lags = lags
        self.hidden = hidden
        self.epochs = epochs
        self.n_origins = n_origins
        self.seed = seed
        self.criteria = criteria or HazardCriteria()

    def _samples(self, region: Region, origins: np.ndarray, cell: CellForecaster):
        """GRU sequences, static features and (when in range) labels for every cell at ``origins``."""
        first = int(origins.min()) - self.lags + 1
        last = int(origins.max()) + 1
        hourly = hourly_features(region, first, last, self.criteria)
        window = origins[:, None] - first + np.arange(-self.lags + 1, 1)[None]  # [O, lags]
        seq = hourly[window].transpose(0, 2, 1, 3)  # [O, C, lags, F]
        series = np.stack([region.variable(v) for v in cell.variables], -1)
        fc = cell.forecast_series(series, region.times, origins)
        static = static_features(region, origins, _as_four(fc, cell.variables))
        return seq.reshape(-1, self.lags, N_HOURLY), static.reshape(-1, N_STATIC)

    def fit(self, region: Region, first: int, last: int, cell: CellForecaster) -> RegionalHazardModel:
        """Train on origins in hours ``[first, last - 48)`` of ``region``, with ``cell`` forecasts."""
        lo, hi = max(first, self.lags - 1), last - HORIZON
        if hi - lo < 10:
            raise PocketMLError(
                f"the training span [{first}, {last}) is too short for 48-hour labels",
                "train on a longer span (at least a few days more than 48 h)",
            )
        hazard = region_hazard(region, self.criteria)
        rng = np.random.default_rng(self.seed)
        any_soon = (
            np.convolve(hazard.any(1).astype(float), np.ones(HORIZON + 24), "full")[HORIZON : HORIZON + region.n_hours]
            > 0
        )
        near = np.flatnonzero(any_soon[lo:hi]) + lo
        half = self.n_origins // 2
        picks = [rng.choice(np.arange(lo, hi), size=self.n_origins - min(half, len(near)), replace=False)]
        if len(near):
            picks.append(rng.choice(near, size=min(half, len(near)), replace=False))
        origins = np.sort(np.concatenate(picks))
        seq, static = self._samples(region, origins, cell)
        ahead = origins[:, None] + np.arange(1, HORIZON + 1)[None]
        y = hazard[ahead].transpose(0, 2, 1).reshape(-1, HORIZON).astype(np.float32)  # [O*C, 48]

        torch.manual_seed(self.seed)
        net = RegionalNet(self.hidden)
        losses: list[float] = []

        def loss(model, s, st, yb):
            return nn.functional.binary_cross_entropy_with_logits(model(s, st), yb)

        fit_network(
            net,
            (seq, static, y),
            loss,
            epochs=self.epochs,
            batch=512,
            lr=3e-3,
            seed=self.seed,
            on_epoch=lambda e, v: losses.append(v),
        )
        self.net_ = net
        self.training_ = RegionalTraining(
            trained_by="central (pooled cell samples; pocketml.federated had no usable API when this was built)",
            n_samples=len(y),
            epochs=self.epochs,
            final_loss=losses[-1] if losses else float("nan"),
        )
        return self

    def predict(self, region: Region, origins: np.ndarray, cell: CellForecaster, chunk: int = 96) -> np.ndarray:
        """``[origins, cells, 48]`` hazard probabilities for the hours after each origin."""
        if not hasattr(self, "net_"):
            raise PocketMLError("the regional model is not trained", "call fit() first")
        origins = np.asarray(origins)
        if origins.min() < self.lags - 1:
            raise PocketMLError(
                f"origin {origins.min()} has less than {self.lags} hours of history",
                f"start forecasting at hour {self.lags - 1} or later",
            )
        out = []
        with torch.no_grad(), one_thread():
            for k in range(0, len(origins), chunk):
                part = origins[k : k + chunk]
                seq, static = self._samples(region, part, cell)
                logits = self.net_(torch.from_numpy(seq), torch.from_numpy(static))
                out.append(torch.sigmoid(logits).numpy().reshape(len(part), region.n_cells, HORIZON))
        return np.concatenate(out, 0)


def _as_four(fc: np.ndarray, variables: tuple[str, ...]) -> np.ndarray:
    """The cell forecast with (wind, gust, RH, temperature) on the last axis; a missing gust is
    stood in by the wind forecast times a typical gust factor of 1.5."""
    named = {v: fc[..., i] for i, v in enumerate(variables)}
    if "gust" not in named:
        named["gust"] = named["wind_speed"] * 1.5
    return np.stack([named[v] for v in VARIABLES], -1)
