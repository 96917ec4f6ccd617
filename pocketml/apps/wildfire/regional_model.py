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

Training is **federated over the cells** by default (``training="federated"``): every weather
cell is a Flower client holding only its own samples, cells are grouped into regions
(``region_blocks``: the grid cut into blocks), and :func:`pocketml.federated.run` trains
cell → region → top (FedAvg inside each region, then across regions, optionally with a server
optimizer at the top: ``server_optimizer``; the simulation uses FedAvgM). ``training="central"`` fits
the same network on the pooled samples (the comparison); ``training_.trained_by`` says which.
The data, the initialisation and the seed are the same either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pocketml.apps.wildfire.cell_model import HORIZON, CellForecaster, time_features
from pocketml.apps.wildfire.hazard import HazardCriteria, region_hazard
from pocketml.apps.wildfire.region import VARIABLES, Region
from pocketml.apps.wildfire.training import fit_network, one_thread
from pocketml.errors import PocketMLError
from pocketml.federated.server_optimizer import ServerOptimizer

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
    epochs: int  # central: passes over the pooled samples; federated: top rounds x region rounds x local epochs
    final_loss: float  # central: last epoch's mean loss; federated: the clients' mean loss in the last round
    seconds: float = 0.0
    clients: int = 0
    regions: int = 0
    rounds: int = 0
    bytes_cell_to_region: int = 0
    bytes_region_to_cell: int = 0
    bytes_region_to_top: int = 0
    bytes_top_to_region: int = 0
    loss_per_round: tuple[float, ...] = ()


class RegionalHazardModel:
    """Per-cell hazard probability 1-48 h ahead from the region's histories and the cell model.

    Parameters
    ----------
    lags : hours of history the GRU reads (default 24).
    hidden : GRU width (default 32).
    epochs : training passes (default 8).
    n_origins : forecast origins sampled for training, half of them near fire weather (default 600).
    seed : sampling and initialisation seed (default 0).
    training : "federated" (default: each cell a Flower client, cells grouped into regions) or
        "central" (pooled samples).
    region_blocks : (block rows, block cols): the grid is cut into this many blocks of cells, each
        block one region of the hierarchy (default (3, 2): 6 regions of 35 cells on a 15 x 14 grid).
    rounds, region_rounds, local_epochs, local_batch, local_lr, fraction : federated schedule: top
        rounds; rounds inside each region per top round; Adam epochs, batch and learning rate on a
        cell; share of each region's cells sampled per round.
    server_optimizer : the top of the hierarchy's optimizer (``pocketml.federated.ServerOptimizer``;
        default None: FedAvg, the plain weighted average of the regional models).
    """

    def __init__(
        self,
        lags: int = 24,
        hidden: int = 32,
        epochs: int = 8,
        n_origins: int = 600,
        seed: int = 0,
        criteria: HazardCriteria | None = None,
        training: str = "federated",
        region_blocks: tuple[int, int] = (3, 2),
        rounds: int = 12,
        region_rounds: int = 1,
        local_epochs: int = 1,
        local_batch: int = 64,
        local_lr: float = 3e-3,
        fraction: float = 1.0,
        server_optimizer: ServerOptimizer | None = None,
    ) -> None:
        self.lags = lags
        self.hidden = hidden
        self.epochs = epochs
        self.n_origins = n_origins
        self.seed = seed
        self.criteria = criteria or HazardCriteria()
        self.training = training
        self.region_blocks = region_blocks
        self.rounds = rounds
        self.region_rounds = region_rounds
        self.local_epochs = local_epochs
        self.local_batch = local_batch
        self.local_lr = local_lr
        self.fraction = fraction
        self.server_optimizer = server_optimizer

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
        if self.training == "federated":
            return self._fit_federated(region, seq, static, y)
        if self.training != "central":
            raise PocketMLError(f"unknown training '{self.training}'", "use 'federated' or 'central'")
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        net = RegionalNet(self.hidden)
        losses: list[float] = []
        fit_network(
            net,
            (seq, static, y),
            bce_loss,
            epochs=self.epochs,
            batch=512,
            lr=3e-3,
            seed=self.seed,
            on_epoch=lambda e, v: losses.append(v),
        )
        self.net_ = net
        self.training_ = RegionalTraining(
            trained_by="central (pooled samples of all cells)",
            n_samples=len(y),
            epochs=self.epochs,
            final_loss=losses[-1] if losses else float("nan"),
            seconds=time.perf_counter() - start,
            loss_per_round=tuple(losses),
        )
        return self

    def _fit_federated(self, region: Region, seq: np.ndarray, static: np.ndarray, y: np.ndarray):
        """Each cell a client with its own samples (rows ``c::cells``), cells → regions → top on Flower."""
        from pocketml.federated import run as federate

        start = time.perf_counter()
        n_cells = region.n_cells
        groups = cell_regions(region, self.region_blocks)
        result = federate(
            model_fn=lambda: RegionalNet(self.hidden),
            client_data_fn=lambda c: (seq[c::n_cells], static[c::n_cells], y[c::n_cells]),
            loss_fn=bce_loss,
            clients=n_cells,
            rounds=self.rounds,
            local_epochs=self.local_epochs,
            batch_size=self.local_batch,
            lr=self.local_lr,
            fraction=self.fraction,
            seed=self.seed,
            groups=groups,
            region_rounds=self.region_rounds,
            server_optimizer=self.server_optimizer,
        )
        self.net_ = result.model()
        self.training_ = RegionalTraining(
            trained_by=(
                f"federated (Flower, pocketml.federated.run: {n_cells} cells as clients, "
                f"{result.regions} regions, FedAvg cell -> region, {_top_name(self.server_optimizer)} region -> top)"
            ),
            n_samples=len(y),
            epochs=self.rounds * self.region_rounds * self.local_epochs,
            final_loss=result.train_loss[-1] if result.train_loss else float("nan"),
            seconds=time.perf_counter() - start,
            clients=n_cells,
            regions=result.regions,
            rounds=self.rounds,
            bytes_cell_to_region=sum(result.bytes_up),
            bytes_region_to_cell=sum(result.bytes_down),
            bytes_region_to_top=result.region_top_up,
            bytes_top_to_region=result.region_top_down,
            loss_per_round=tuple(result.train_loss),
        )
        return self

    def predict(self, region: Region, origins: np.ndarray, cell: CellForecaster, chunk: int = 96) -> np.ndarray:
        """``[origins, cells, 48]`` hazard probabilities for the hours after each origin."""
        return predict_models([self], region, origins, cell, chunk)[0]


def predict_models(
    models: list[RegionalHazardModel], region: Region, origins: np.ndarray, cell: CellForecaster, chunk: int = 96
) -> list[np.ndarray]:
    """:meth:`RegionalHazardModel.predict` for several trained models with the same inputs (same
    ``lags`` and criteria, e.g. the federated and the central one): the features and the cell
    model's forecasts are computed once and every network reads them."""
    for m in models:
        if not hasattr(m, "net_"):
            raise PocketMLError("the regional model is not trained", "call fit() first")
    first = models[0]
    if any(m.lags != first.lags or m.criteria != first.criteria for m in models):
        raise PocketMLError("the models read different inputs (lags or criteria differ)", "predict them one by one")
    origins = np.asarray(origins)
    if origins.min() < first.lags - 1:
        raise PocketMLError(
            f"origin {origins.min()} has less than {first.lags} hours of history",
            f"start forecasting at hour {first.lags - 1} or later",
        )
    out: list[list[np.ndarray]] = [[] for _ in models]
    with torch.no_grad(), one_thread():
        for k in range(0, len(origins), chunk):
            part = origins[k : k + chunk]
            seq, static = first._samples(region, part, cell)
            seq_t, static_t = torch.from_numpy(seq), torch.from_numpy(static)
            for m, acc in zip(models, out, strict=True):
                logits = m.net_(seq_t, static_t)
                acc.append(torch.sigmoid(logits).numpy().reshape(len(part), region.n_cells, HORIZON))
    return [np.concatenate(acc, 0) for acc in out]


def bce_loss(model: nn.Module, seq: torch.Tensor, static: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The training loss of the regional model (both trainings): BCE on the 48 hourly logits."""
    return nn.functional.binary_cross_entropy_with_logits(model(seq, static), y)


def cell_regions(region: Region, blocks: tuple[int, int]) -> np.ndarray:
    """Region label of every cell: the grid cut into ``blocks`` (rows, cols) contiguous blocks."""
    br, bc = blocks
    if not (1 <= br <= region.rows and 1 <= bc <= region.cols):
        raise PocketMLError(
            f"region_blocks {blocks} does not fit a {region.rows} x {region.cols} grid",
            "use between 1 and the grid's rows/cols blocks, e.g. (3, 2)",
        )
    row, col = np.divmod(np.arange(region.n_cells), region.cols)  # cells are numbered row-major
    return (row * br // region.rows) * bc + col * bc // region.cols


def _top_name(opt: ServerOptimizer | None) -> str:
    """How the top of the hierarchy combines the regional models, for ``trained_by``."""
    if opt is None or (opt.kind == "fedavg" and opt.lr == 1.0 and opt.decay == "none"):
        return "FedAvg"
    name = {"fedavg": "FedAvg", "fedavgm": "FedAvgM", "fedadam": "FedAdam"}[opt.kind]
    momentum = "" if opt.kind == "fedavg" else f", beta1 {opt.beta1:g}"
    decay = ", cosine" if opt.decay == "cosine" else ""
    return f"{name} (server lr {opt.lr:g}{momentum}{decay})"


def _as_four(fc: np.ndarray, variables: tuple[str, ...]) -> np.ndarray:
    """The cell forecast with (wind, gust, RH, temperature) on the last axis; a missing gust is
    stood in by the wind forecast times a typical gust factor of 1.5."""
    named = {v: fc[..., i] for i, v in enumerate(variables)}
    if "gust" not in named:
        named["gust"] = named["wind_speed"] * 1.5
    return np.stack([named[v] for v in VARIABLES], -1)
