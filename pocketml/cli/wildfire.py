"""`pocketml wildfire ...`: the PSPS forecasting application."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import FORCE_OPT, app, console
from pocketml.errors import PocketMLError

wildfire_app = typer.Typer(help="Wildfire PSPS forecasting, cell by cell: station skill and the region pipeline.",
                           no_args_is_help=True)
app.add_typer(wildfire_app, name="wildfire", rich_help_panel="Applications")


@wildfire_app.command("evaluate")
def wildfire_evaluate(
    station: Path = typer.Option(..., help="A station file (NOAA ISD-Lite, NREL TMY3 CSV, or CSV with --columns)."),
    fmt: str = typer.Option(..., "--format", help="isd-lite | tmy3 | csv"),
    columns: str | None = typer.Option(None, help="csv only: our=theirs pairs, e.g. time=Date,wind_speed=Wind,"
                                          "relative_humidity=RH,temperature=T,gust=Gust"),
    units: str | None = typer.Option(None, help="csv only: name=unit pairs, e.g. temperature=degF,wind_speed=mph"),
    train_fraction: float = typer.Option(0.7, help="Share of the record (from its start) used for training."),
    seed: int = typer.Option(0, help="Training seed."),
    as_json: bool = typer.Option(False, "--json", help="Print the skill table as JSON (MAE by variable, then by horizon)."),
) -> None:
    """Train the cell forecaster on the first 70% of a station record; MAE at 1-48 h vs persistence and climatology."""
    from pocketml.apps.wildfire import evaluate_station, load_station

    def pairs(text: str | None) -> dict[str, str]:
        try:
            return dict(p.split("=", 1) for p in text.split(",")) if text else {}
        except ValueError:
            raise PocketMLError(f"cannot read '{text}' as name=value pairs",
                                "write e.g. time=Date,wind_speed=Wind") from None

    busy = console.status(f"loading {station.name} and training the cell forecaster", spinner="dots")
    with busy if not as_json else _quiet():
        record = load_station(station, fmt, columns=pairs(columns), units=pairs(units))
        skill = evaluate_station(record, train_fraction=train_fraction, seed=seed)
    if as_json:
        print(json.dumps(skill.to_dict(), indent=2))
        return
    from pocketml.report.runs import print_station_skill

    print_station_skill(skill.to_dict(), train_fraction, console)


@wildfire_app.command("simulate")
def wildfire_simulate(
    seed: int = typer.Option(0, help="Seed of the training region (A)."),
    test_seed: int = typer.Option(1, help="Seed of the second region (B), never trained on."),
    device: str = typer.Option("nano33ble", help="Station board for the cell model."),
    out: Path = typer.Option(Path("out/wildfire"), help="Output folder: wildfire.json, wildfire.html, cell/."),
    small: bool = typer.Option(False, help="A quick 4x4-cell run with short seasons (smoke test, not the benchmark)."),
    regional_training: str = typer.Option("federated", help="How the regional model learns: 'federated' (each "
                                          "cell a Flower client, cells -> regions -> top) or 'central' (pooled)."),
    compare_central: bool = typer.Option(True, help="Also train the regional model centrally on the same samples "
                                         "and score it side by side (rows 'ours-central', 'regional_skill')."),
    restore_hours: str = typer.Option("8-18", help="Local hours START-END in which power may be restored "
                                      "(after daylight line patrols); 0-24 for any hour."),
    as_json: bool = typer.Option(False, "--json", help="Print wildfire.json."),
    force: bool = FORCE_OPT,
) -> None:
    """Generate regions, train the cell and regional models, decide shutoffs per cell, score against baselines."""
    from dataclasses import replace

    from pocketml.apps.wildfire import SimulateSettings, simulate, small_settings

    try:
        window = tuple(int(v) for v in restore_hours.split("-"))
        assert len(window) == 2
    except (ValueError, AssertionError):
        raise PocketMLError(f"--restore-hours '{restore_hours}' is not START-END", "pass e.g. 8-18, or 0-24") from None
    settings = replace(small_settings() if small else SimulateSettings(), seed=seed, test_seed=test_seed, device=device,
                       regional_training=regional_training, compare_central=compare_central, restore_hours=window)
    with console.status("wildfire simulate", spinner="dots") if not as_json else _quiet() as status:
        run = simulate(settings, out, progress=None if as_json else (lambda msg: status.update(msg)), force=force)
    if as_json:
        print(json.dumps(run.to_dict(), indent=2))
        return
    from pocketml.report.runs import print_wildfire_run

    scores = {season: {m: d.score.to_dict() for m, d in methods.items()} for season, methods in run.seasons.items()}
    print_wildfire_run(scores, run.done_when(), console)
    console.print(f"wrote {out}/wildfire.json, {out}/wildfire.html, {out}/cell/", markup=False, highlight=False)


class _quiet:
    """A do-nothing stand-in for a rich status (used with --json)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, *args, **kwargs):
        pass
