"""`pocketml verify` and `pocketml energy`: re-check an OUT folder in every runtime; its energy budget."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import DEVICES_OPT, app, console


@app.command(rich_help_panel="Inspect")
def verify(
    out: Path = typer.Argument(..., help="An OUT folder written by `pocketml shrink --out OUT`."),
    runtimes: str = typer.Option("reference,c,tflm,litert", help="Comma-separated: reference,c,tflm,litert,qemu "
                                 "(litert runs both resolvers: XNNPACK and BUILTIN_REF)."),
    layers: bool = typer.Option(False, "--layers", help="Cut the model after every layer and name the first layer "
                                "where two runtimes diverge, with how many elements differ."),
    probe_arena: bool = typer.Option(True, help="Bisect TFLite Micro's smallest working arena in child processes."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Re-run OUT's artifact in each runtime and compare it with the numpy reference on every test input.

    Per runtime: samples, mismatching samples, largest difference, arena/RAM, flash, latency.
    Exits 0 when reference, C, TFLite Micro (and QEMU, if asked) agree byte for byte, 2 when
    they do not, 1 on bad input (a missing or damaged OUT piece, a corrupt .tflite).
    """
    from pocketml.deploy.verify import verify as verify_api
    from pocketml.report.verify import print_verify

    report = verify_api(out, runtimes, layers=layers, probe_arena=probe_arena)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_verify(report, console)
    if not report.exact:
        raise typer.Exit(2)


@app.command(rich_help_panel="Inspect")
def energy(
    out: Path = typer.Argument(..., help="An OUT folder written by `pocketml shrink --out OUT`."),
    rate: str = typer.Option("1/min", help="Inferences per period: 1/min, 10/h, 0.5/s, 2/day."),
    radio: str | None = typer.Option(None, help="Radio that sends each result: ble, lora, lora-sf12, nbiot, "
                                        "wifi (default: the board's own, else ble)."),
    battery: str = typer.Option("cr2032", help="Battery: cr2032 or 2xaa."),
    devices_file: Path | None = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the budget as JSON (units in the key names)."),
) -> None:
    """Energy budget of OUT's model on its board: per inference, radio, sleep, battery lifetime, harvesting.

    Uses the QEMU instruction count of the Cortex-M build when OUT has one (else the cost-model
    estimate) and the board's catalogue powers. All figures are estimates; constants are sourced
    in docs/energy.md.
    """
    from pocketml.energy import budget_for
    from pocketml.report.energy import print_energy
    from pocketml.result import profile_from_json, read_result_json

    budget = budget_for(profile_from_json(read_result_json(out), devices_file), rate, radio=radio, battery=battery)
    if as_json:
        print(json.dumps(budget.to_dict(), indent=2))
    else:
        print_energy(budget, console)
