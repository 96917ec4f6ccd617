"""The ``pocketml`` command: each subcommand is a thin shell over the Python API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pocketml.errors import PocketMLError

app = typer.Typer(
    help="pocketml: shrink PyTorch models into verified int8 C for microcontrollers.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 130)  # pipes and CI get a readable width
DEVICES_OPT = typer.Option(None, "--devices", help="Extra TOML file of boards (same schema as the built-in catalogue).")


@app.command()
def shrink(
    model: str = typer.Option("digits-cnn", help="A built-in model name, or a .pt2 file from torch.export.save."),
    device: str = typer.Option("nano33ble", help="Target board id (see `pocketml devices`)."),
    out: Path = typer.Option(Path("out/shrink"), help="Output folder: result.json, report.html, c/."),
    data: Optional[Path] = typer.Option(None, help="For a .pt2 model: .npz with x_train, x_test, y_test."),
    seed: int = typer.Option(0, help="Seed for training a built-in model (same seed, same result)."),
    devices: Optional[Path] = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print result.json instead of tables."),
) -> None:
    """Quantize a model to int8, emit C for a board, compile and verify it, and report.

    Exits 0 when the artifact was built and verified, even if it does not fit the board
    (result.json says fits: false and why); exits 1 on bad input, naming the problem and the fix.
    """
    from pocketml.pipeline import shrink as shrink_api
    from pocketml.pipeline import shrink_builtin
    from pocketml.report import print_result

    if model.endswith(".pt2"):
        from pocketml.data.files import load_npz
        from pocketml.models.files import load_model_file

        if data is None:
            raise PocketMLError("a .pt2 model needs data", "pass --data FILE.npz with x_train, x_test, y_test")
        net = load_model_file(model)
        calibration, test = load_npz(data)
        result = shrink_api(net, calibration, test, device, out, name=Path(model).stem, devices=devices)
    else:
        result = shrink_builtin(model, device, out, seed=seed, devices=devices, progress=not as_json)
    if as_json:
        print(result.dumps())
    else:
        print_result(result, console)
        console.print(f"wrote {out}/result.json, {out}/report.html, {out}/c/ (make -C {out}/c builds run_model)")


@app.command()
def devices(
    as_json: bool = typer.Option(False, "--json", help="Print every field and source as JSON."),
    devices: Optional[Path] = DEVICES_OPT,
) -> None:
    """List the boards pocketml knows: budgets, core, clock, power, and the datasheet of each figure."""
    from pocketml.devices import load_catalogue
    from pocketml.report import print_devices

    catalogue = load_catalogue(devices)
    if as_json:
        print(json.dumps([d.to_dict() for d in catalogue.values()], indent=2))
    else:
        print_devices(catalogue, console)


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Output folder."),
    device: str = typer.Option("nano33ble", help="Target board id."),
) -> None:
    """Train digits-cnn on built-in data, shrink it for a board, verify the C, and report."""
    from pocketml.pipeline import shrink_builtin
    from pocketml.report import print_result

    console.print(f"[bold]pocketml demo[/]: digits-cnn on scikit-learn digits → int8 C for {device}")
    result = shrink_builtin("digits-cnn", device, out)
    print_result(result, console)
    console.print(f"report: {out / 'report.html'}   C: {out / 'c'} (make -C {out / 'c'} && ./run_model < in.bin)")


def main() -> None:
    try:
        app()
    except PocketMLError as exc:
        err = Console(stderr=True, soft_wrap=True)  # no hard wraps: messages stay greppable
        err.print(f"[red]error:[/] {exc.problem}", highlight=False, markup=True)
        if exc.fix:
            err.print(f"[yellow]fix:[/] {exc.fix}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
