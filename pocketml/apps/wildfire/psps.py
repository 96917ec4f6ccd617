"""The region pipeline: generate → train the cell and regional models → decide shutoffs → score.

``simulate(...)`` runs the whole application on a synthetic region and a second region from
another seed (the models never see it), and returns a :class:`PspsRun` with every figure:

1. generate region A (``seed``) and region B (``test_seed``);
2. train the shared cell forecaster on A's training span, shrink it for a station board
   (``pocketml.shrink``: int8, C verified against the reference), and measure its wind MAE on
   the held-out season against persistence;
3. train the regional hazard model on A's training span (it reads the cell model's forecasts):
   federated over the cells on Flower (cell → region → top), and, with ``compare_central``, the
   same network on the same samples centrally, for comparison;
4. forecast every hour of A's validation season, A's held-out season and B's held-out season;
5. pick the rule's settings on the validation season only — for our per-cell decisions and,
   separately, for the regional-threshold baseline: the fewest unnecessary shutoff cell-hours
   with recall ≥ ``target_recall`` and no restoration followed by fire weather within 12 h;
   every method restores only in ``restore_hours`` (daylight, after line patrols);
6. score ours, the regional baseline and persistence on both held-out seasons, and two variants
   that show what the choices cost: ``ours-any-hour`` (restorations allowed at any hour, the
   earlier policy) and ``ours-central`` (our rule on the centrally trained regional model).

Spans are dates (local standard time); the defaults suit the default 3-year region.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from pocketml.apps.wildfire.cell_model import CellDeployment, CellForecaster, shrink_cell_model
from pocketml.apps.wildfire.hazard import HazardCriteria, region_hazard
from pocketml.apps.wildfire.region import VARIABLES, Region, generate_region
from pocketml.apps.wildfire.regional_model import RegionalHazardModel, predict_models
from pocketml.apps.wildfire.scoring import PREMATURE_WINDOW, Score, score
from pocketml.apps.wildfire.shutoff import ShutoffRule, calm, decide, persistence_forecast, regional_forecast
from pocketml.errors import PocketMLError
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.outputs import OutputFolder, write_atomic

METHODS = ("ours", "regional", "persistence")
VARIANTS = ("ours-any-hour", "ours-central")  # trade-off rows: restore at any hour; central regional model


@dataclass(frozen=True)
class Spans:
    """Date spans of the experiment: ``train_end`` (exclusive), validation and held-out seasons."""

    train_end: str = "2022-09-01"
    val: tuple[str, str] = ("2022-10-01", "2023-01-15")
    test: tuple[str, str] = ("2023-09-01", "2023-12-29")


@dataclass(frozen=True)
class SimulateSettings:
    """Everything ``simulate`` needs (defaults: the benchmark's settings)."""

    seed: int = 0
    test_seed: int = 1
    rows: int = 15
    cols: int = 14
    days: int = 3 * 365
    spans: Spans = Spans()
    device: str = "nano33ble"
    cell_epochs: int = 10
    cell_samples: int = 100_000
    cell_min_steps: int = 900
    regional_epochs: int = 6
    regional_origins: int = 500
    regional_lags: int = 12
    regional_training: str = "federated"
    compare_central: bool = True
    region_blocks: tuple[int, int] = (3, 2)
    federated_rounds: int = 40
    federated_region_rounds: int = 1
    federated_local_epochs: int = 8
    federated_local_batch: int = 500
    federated_local_lr: float = 1e-2
    federated_fraction: float = 0.1
    # the top's optimizer: server momentum over the regions' pseudo-gradient (docs/wildfire.md, "Models")
    federated_server: ServerOptimizer = ServerOptimizer("fedavgm", lr=1.0, beta1=0.5)
    restore_hours: tuple[int, int] = (8, 18)
    target_recall: float = 0.97
    calm_margin: float = 0.75
    criteria: HazardCriteria = HazardCriteria()
    on_thresholds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
    clear_hours: tuple[int, ...] = (3, 6, 12, 24)


@dataclass(frozen=True)
class SeasonForecast:
    """Forecasts and observations over one scored season of one region."""

    region: Region
    origins: np.ndarray  # hour indices of the forecast origins
    prob: np.ndarray  # [origins, cells, 48]
    hazard_now: np.ndarray  # [origins, cells]
    calm_now: np.ndarray  # [origins, cells]
    target: np.ndarray  # [origins, cells]: fire weather in the hour after each origin
    tail: np.ndarray  # [12, cells]: fire weather after the last scored hour
    hour_of_day: np.ndarray  # [origins]: local hour of the hour after each origin (the decided hour)
    truth_ahead: np.ndarray  # [origins, cells, 48] int8: fire weather h = 1..48 h after each origin, -1 past the record
    prob_central: np.ndarray | None = None  # [origins, cells, 48]: the centrally trained model's forecast


@dataclass(frozen=True)
class Decisions:
    """One method's shutoffs over a season and their score."""

    method: str
    rule: ShutoffRule
    shut: np.ndarray  # [origins, cells]
    score: Score


@dataclass
class PspsRun:
    settings: SimulateSettings
    cell: CellDeployment
    cell_wind_mae: dict[str, dict[str, float]]  # horizon -> {"model", "persistence"} on A's held-out season
    regional_training: dict
    regional_skill: dict[str, dict[str, dict[str, float]]]  # season -> model -> {"log_loss", "brier", ...}
    rules: dict[str, ShutoffRule]  # method -> rule chosen on validation
    validation: dict[str, Score]
    seasons: dict[str, dict[str, Decisions]]  # "A"/"B" -> method -> decisions
    forecasts: dict[str, SeasonForecast] = field(repr=False, default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def reduction(self, season: str) -> float:
        """Fraction fewer unnecessary shutoff cell-hours than the regional baseline."""
        ours = self.seasons[season]["ours"].score.unnecessary_cell_hours
        base = self.seasons[season]["regional"].score.unnecessary_cell_hours
        return 1 - ours / base if base else 0.0

    def done_when(self) -> dict[str, bool]:
        out = {}
        for s in self.seasons:
            ours = self.seasons[s]["ours"].score
            out[f"season_{s}"] = bool(
                ours.recall >= 0.95 and self.reduction(s) >= 0.30 and ours.premature_restorations == 0
            )
        out["cell_fits"] = bool(self.cell.fits and self.cell.c_mismatches == 0)
        out["cell_beats_persistence_6h_plus"] = all(
            v["model"] < v["persistence"] for h, v in self.cell_wind_mae.items() if int(h) >= 6
        )
        return out

    def to_dict(self) -> dict:
        st = asdict(self.settings)
        return {
            "settings": st,
            "cell_model": self.cell.to_dict(),
            "cell_wind_mae": self.cell_wind_mae,
            "regional_model": self.regional_training,
            "regional_skill": self.regional_skill,
            "rules": {m: r.to_dict() for m, r in self.rules.items()},
            "validation": {m: s.to_dict() for m, s in self.validation.items()},
            "seasons": {s: {m: d.score.to_dict() for m, d in ds.items()} for s, ds in self.seasons.items()},
            "unnecessary_reduction_vs_regional": {s: round(self.reduction(s), 4) for s in self.seasons},
            "done_when": self.done_when(),
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
        }


def season_forecast(
    region: Region,
    first: int,
    last: int,
    regional: RegionalHazardModel,
    cell: CellForecaster,
    criteria: HazardCriteria,
    margin: float,
    central: RegionalHazardModel | None = None,
) -> SeasonForecast:
    """Forecast every hour ``first..last-1`` of ``region`` and collect what the rule and scores need
    (with ``central``, that model's forecast too, from the same inputs)."""
    hazard = region_hazard(region, criteria)
    origins = np.arange(first, last)
    if last + 1 + 2 * PREMATURE_WINDOW > region.n_hours:
        raise PocketMLError(
            f"the season ends too close to the end of the record (hour {last} of {region.n_hours})",
            f"end the season at least {1 + 2 * PREMATURE_WINDOW} hours before the record ends",
        )
    probs = predict_models([regional] + ([central] if central is not None else []), region, origins, cell)
    prob = probs[0]
    still = calm(region.wind_speed[origins], region.gust[origins], region.relative_humidity[origins], criteria, margin)
    return SeasonForecast(
        region,
        origins,
        prob,
        hazard[origins],
        still,
        hazard[origins + 1],
        hazard[last + 1 : last + 1 + 2 * PREMATURE_WINDOW],
        (region.times[origins + 1].astype("datetime64[h]").astype(np.int64) % 24).astype(np.int64),
        _truth_ahead(hazard, origins, prob.shape[2]),
        probs[1] if central is not None else None,
    )


def _truth_ahead(hazard: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    ahead = origins[:, None] + np.arange(1, horizon + 1)[None]
    known = ahead < len(hazard)
    truth = hazard[np.minimum(ahead, len(hazard) - 1)].transpose(0, 2, 1).astype(np.int8)
    return np.where(known[:, None, :], truth, np.int8(-1))


def forecast_skill(fc: SeasonForecast) -> dict[str, dict[str, float]]:
    """Log loss and Brier score of each regional model's hazard probabilities over every cell and
    hour 1-48 h ahead of the season (lower is better), and at 6 h and 24 h ahead."""
    out = {}
    known = fc.truth_ahead >= 0
    truth = fc.truth_ahead.astype(np.float64)
    for name, prob in (("federated" if fc.prob_central is not None else "model", fc.prob),
                       ("central", fc.prob_central)):
        if prob is None:
            continue
        p = np.clip(prob.astype(np.float64), 1e-6, 1 - 1e-6)
        ll = -(truth * np.log(p) + (1 - truth) * np.log(1 - p))
        br = (p - truth) ** 2
        out[name] = {
            "log_loss": round(float(ll[known].mean()), 5),
            "brier": round(float(br[known].mean()), 5),
            "brier_6h": round(float(br[:, :, 5][known[:, :, 5]].mean()), 5),
            "brier_24h": round(float(br[:, :, 23][known[:, :, 23]].mean()), 5),
        }
    return out


def method_inputs(fc: SeasonForecast, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forecast, fire weather now, calm now) as the method sees them."""
    if method in ("ours", "ours-any-hour"):
        return fc.prob, fc.hazard_now, fc.calm_now
    if method == "ours-central":
        if fc.prob_central is None:
            raise PocketMLError("no central model's forecast in this season", "simulate with compare_central=True")
        return fc.prob_central, fc.hazard_now, fc.calm_now
    if method == "regional":
        reg, now, still = regional_forecast(fc.prob, fc.hazard_now, fc.calm_now)
        return reg, now, still
    if method == "persistence":
        return persistence_forecast(fc.hazard_now, fc.prob.shape[2]), fc.hazard_now, fc.calm_now
    raise PocketMLError(f"unknown method '{method}'", f"use one of {METHODS}")


def run_method(
    fc: SeasonForecast, method: str, rule: ShutoffRule, premature_window: int = PREMATURE_WINDOW
) -> Decisions:
    prob, now, still = method_inputs(fc, method)
    shut = decide(prob, now, rule, still, fc.hour_of_day)
    return Decisions(
        method,
        rule,
        shut,
        score(shut, fc.target, prob, rule.on_threshold, fc.tail[:premature_window], premature_window),
    )


def tune_rule(fc: SeasonForecast, method: str, settings: SimulateSettings) -> tuple[ShutoffRule, Score]:
    """The rule with the fewest unnecessary cell-hours at recall ≥ target and no premature restoration
    on ``fc`` (a validation season); if none qualifies, the one with the highest recall.

    As a safety margin, a restoration counts as premature here when fire weather follows within
    ``2 x PREMATURE_WINDOW`` hours (12 h), twice the window the held-out seasons are scored with.
    Every method restores only in ``settings.restore_hours`` except ``ours-any-hour``."""
    best, best_key = None, None
    window = (0, 24) if method == "ours-any-hour" else tuple(settings.restore_hours)
    for on, clear in itertools.product(settings.on_thresholds, settings.clear_hours):
        rule = ShutoffRule(on_threshold=on, off_threshold=on / 3, clear_hours=clear, restore_hours=window)
        s = run_method(fc, method, rule, premature_window=2 * PREMATURE_WINDOW).score
        ok = s.recall >= settings.target_recall and s.premature_restorations == 0
        key = (not ok, s.unnecessary_cell_hours if ok else -s.recall, s.premature_restorations)
        if best_key is None or key < best_key:
            best, best_key = (rule, s), key
    assert best is not None
    return best


def cell_wind_skill(
    cell: CellForecaster, region: Region, first: int, last: int, every: int = 5, horizons=(1, 6, 12, 24, 48)
) -> dict[str, dict[str, float]]:
    """Wind-speed MAE of the rolled cell forecast vs persistence over all cells, origins every ``every`` h."""
    series = np.stack([region.variable(v) for v in cell.variables], -1)
    origins = np.arange(first, last - 48, every)
    fc = cell.forecast_series(series, region.times, origins)  # [O, C, 48, V]
    i = cell.variables.index("wind_speed")
    out = {}
    for h in horizons:
        truth = series[origins + h, :, i]
        out[str(h)] = {
            "model": round(float(np.abs(fc[:, :, h - 1, i] - truth).mean()), 4),
            "persistence": round(float(np.abs(series[origins, :, i] - truth).mean()), 4),
        }
    return out


def simulate(
    settings: SimulateSettings = SimulateSettings(),
    out: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    force: bool = False,
) -> PspsRun:
    """Run the region pipeline (module docstring); write ``out/wildfire.json`` and ``out/wildfire.html``
    (and the shrunk cell model in ``out/cell/``) when ``out`` is given, all or nothing (``force`` as for
    :class:`pocketml.outputs.OutputFolder`)."""
    say = progress or (lambda msg: None)
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        seconds[name] = time.perf_counter() - t
        t = time.perf_counter()

    if settings.regional_training not in ("federated", "central"):
        raise PocketMLError(f"unknown regional training '{settings.regional_training}'", "use 'federated' or 'central'")
    ShutoffRule(restore_hours=tuple(settings.restore_hours)).check(48)  # fail fast on a bad window
    folder = None if out is None else OutputFolder(out, force=force, command="wildfire simulate")
    if folder is not None:
        folder.check()
    with ExitStack() as stack:  # the staging folder (or a scratch folder without ``out``)
        work = (stack.enter_context(folder.stage()) if folder is not None
                else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pocketml-wildfire-"))))
        return _simulate(settings, work, out, say, seconds, lap)


def _regional_model(settings: SimulateSettings, training: str, region: Region, train_end: int,
                    cell: CellForecaster) -> RegionalHazardModel:
    """The regional hazard model as the settings describe it, fitted on the region's training span."""
    return RegionalHazardModel(
        lags=settings.regional_lags,
        epochs=settings.regional_epochs,
        n_origins=settings.regional_origins,
        seed=settings.seed,
        criteria=settings.criteria,
        training=training,
        region_blocks=settings.region_blocks,
        rounds=settings.federated_rounds,
        region_rounds=settings.federated_region_rounds,
        local_epochs=settings.federated_local_epochs,
        local_batch=settings.federated_local_batch,
        local_lr=settings.federated_local_lr,
        fraction=settings.federated_fraction,
        server_optimizer=settings.federated_server,
    ).fit(region, 0, train_end, cell)


def _tuned_rules(fc_val, methods, settings: SimulateSettings) -> tuple[dict, dict]:
    """Each method's shutoff rule chosen on the validation season (persistence uses ours), and its score there."""
    rules, val_scores = {}, {}
    for m in methods:
        if m != "persistence":
            rules[m], val_scores[m] = tune_rule(fc_val, m, settings)
    rules["persistence"] = rules["ours"]
    val_scores["persistence"] = run_method(fc_val, "persistence", rules["persistence"]).score
    return rules, val_scores


def _simulate(settings: SimulateSettings, work: Path, out: str | Path | None, say, seconds, lap) -> PspsRun:
    say(f"generating regions (seeds {settings.seed} and {settings.test_seed})")
    kw = dict(rows=settings.rows, cols=settings.cols, days=settings.days)
    a, b = generate_region(settings.seed, **kw), generate_region(settings.test_seed, **kw)
    sp = settings.spans
    train_end = a.hour_index(sp.train_end)
    val = (a.hour_index(sp.val[0]), a.hour_index(sp.val[1]))
    test = (a.hour_index(sp.test[0]), a.hour_index(sp.test[1]))
    if not 200 < train_end <= val[0] < val[1] <= test[0] < test[1]:
        raise PocketMLError(
            f"spans {sp} do not fit a {settings.days}-day record starting {a.start}",
            "order them train < validation < test inside the record (default: a 3-year record)",
        )
    lap("generate")

    say("training the cell forecaster (shared by all cells)")
    series = np.stack([a.variable(v) for v in VARIABLES], -1)
    cell = CellForecaster(
        epochs=settings.cell_epochs,
        max_samples=settings.cell_samples,
        min_steps=settings.cell_min_steps,
        seed=settings.seed,
    ).fit(series[:train_end], a.times[:train_end])
    lap("cell_train")
    say(f"shrinking the cell forecaster for {settings.device}")
    deployment = shrink_cell_model(
        cell, series[:train_end], a.times[:train_end], settings.device, work / "cell", seed=settings.seed
    )
    if out is not None:
        deployment = replace(deployment, out=str(Path(out) / "cell"))
    wind_mae = cell_wind_skill(cell, a, *test)
    lap("cell_shrink")

    say(f"training the regional hazard model ({settings.regional_training})")
    regional = _regional_model(settings, settings.regional_training, a, train_end, cell)
    central = None
    if settings.compare_central and settings.regional_training != "central":
        say("training the same regional model centrally, for comparison")
        central = _regional_model(settings, "central", a, train_end, cell)
    lap("regional_train")

    say("forecasting the validation and held-out seasons")
    fc_val, fc_a, fc_b = (
        season_forecast(r, *span, regional, cell, settings.criteria, settings.calm_margin, central)
        for r, span in ((a, val), (a, test), (b, test))
    )
    lap("forecast")

    say("choosing rule settings on the validation season and scoring")
    methods = METHODS + (VARIANTS if central is not None else VARIANTS[:1])
    rules, val_scores = _tuned_rules(fc_val, methods, settings)
    seasons = {name: {m: run_method(fc, m, rules[m]) for m in methods} for name, fc in (("A", fc_a), ("B", fc_b))}
    training = {"model": asdict(regional.training_)}
    if central is not None:
        training["central"] = asdict(central.training_)
    skill = {name: forecast_skill(fc) for name, fc in (("A", fc_a), ("B", fc_b))}
    lap("decide_score")
    result = PspsRun(
        settings,
        deployment,
        wind_mae,
        training,
        skill,
        rules,
        val_scores,
        seasons,
        {"A": fc_a, "B": fc_b},
        seconds,
    )
    if out is not None:
        write_outputs(result, work)
    return result


def write_outputs(result: PspsRun, out: Path) -> None:
    """``out/wildfire.json`` and ``out/wildfire.html``, each written to a temporary file then renamed."""
    from pocketml.report.wildfire import write_html

    write_atomic(out / "wildfire.json", json.dumps(result.to_dict(), indent=2))
    write_html(result, out / "wildfire.html")


def small_settings(**changes) -> SimulateSettings:
    """Settings for a quick run (tests, smoke checks): a 4 x 4 region, short seasons, few epochs."""
    base = SimulateSettings(
        rows=4,
        cols=4,
        cell_epochs=2,
        cell_samples=20_000,
        cell_min_steps=0,
        regional_epochs=2,
        regional_origins=120,
        region_blocks=(2, 2),
        federated_rounds=2,
        federated_local_epochs=2,
        federated_fraction=0.5,
        spans=Spans("2022-09-01", ("2022-11-01", "2022-11-21"), ("2023-11-01", "2023-11-21")),
        on_thresholds=(0.2, 0.4),
        clear_hours=(3, 6),
    )
    return replace(base, **changes)
