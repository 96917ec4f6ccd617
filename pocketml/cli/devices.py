"""`pocketml devices`: the board catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import DEVICES_OPT, app, console


@app.command(rich_help_panel="Inspect")
def devices(
    as_json: bool = typer.Option(False, "--json", help="Print every field and source as JSON."),
    devices: Path | None = DEVICES_OPT,
) -> None:
    """List the boards pocketml knows: budgets, core, clock, power, and the datasheet of each figure."""
    from pocketml.devices import load_catalogue
    from pocketml.report import print_devices

    catalogue = load_catalogue(devices)
    if as_json:
        print(json.dumps([d.to_dict() for d in catalogue.values()], indent=2))
    else:
        print_devices(catalogue, console)
