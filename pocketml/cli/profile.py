"""`pocketml profile`: instructions per layer of an OUT folder's board C, on the target (QEMU)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import app, console


@app.command(rich_help_panel="Inspect")
def profile(
    out: Path = typer.Argument(..., help="An OUT folder written by `pocketml shrink` or `pocketml compile`."),
    update: bool = typer.Option(True, help="Also write the figures into OUT/result.json (cortexm.layers)."),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
) -> None:
    """Run OUT's Cortex-M build in QEMU and print the instructions of every layer.

    Builds the board's C (OUT/c-dsp/ on a board with the DSP extension, else OUT/c/) with a timer
    after every op, runs the first test input in qemu-system-arm -M mps2-an386 -icount, and prints
    per layer: instructions, instructions per MAC and share of the total. Instructions are QEMU's
    count, not cycles (an SMLAD counts one, like a MOV); the latency column assumes one
    instruction per cycle at the board's clock, a lower bound. Needs `make cortexm-toolchain`.
    """
    from pocketml.deploy.cortexm.profile import profile_output
    from pocketml.report.profile import print_profile

    result = profile_output(out, update=update)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print_profile(result, console)
