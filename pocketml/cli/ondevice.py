"""`pocketml ondevice personalize | federate`: the device learns (in C) on its own and in a fleet."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import FORCE_OPT, app, console

ondevice_app = typer.Typer(help="The device learns: personalisation and federated clients running the emitted C "
                                "training step (docs/ondevice.md).", no_args_is_help=True)
app.add_typer(ondevice_app, name="ondevice", rich_help_panel="Train")


def _ints(text: str, what: str) -> tuple[int, ...]:
    from pocketml.errors import PocketMLError

    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values:
        raise PocketMLError(f"cannot read {what} {text!r}", f"pass comma-separated integers, e.g. --{what} 10,50,100")
    return values


@ondevice_app.command()
def personalize(
    devices: int = typer.Option(5, help="Devices, each with its own rotation, stroke width, gain and noise."),
    seeds: str = typer.Option("0,1,2", help="Seeds (a base model trained per seed), comma-separated."),
    samples: str = typer.Option("10,50,100", help="Local labelled samples N a device adapts with."),
    trainable: str = typer.Option("last,last+bias", help="On-device modes compared: last, bias, last+bias."),
    bias_layers: int = typer.Option(2, help="Body layers whose biases train in the bias modes."),
    epochs: int = typer.Option(10, help="Passes of on-device batch-1 SGD over the N samples."),
    lr: float = typer.Option(0.01, help="On-device learning rate."),
    out: Path = typer.Option(Path("out/personalize"), help="Output folder: personalize.json, report.html."),
    as_json: bool = typer.Option(False, "--json", help="Print personalize.json."),
    force: bool = FORCE_OPT,
) -> None:
    """digits-cnn per device: accuracy before and after adapting in C with N samples, vs fine-tuning on the host."""
    from pocketml.ondevice.personalize import PersonalizeSettings, personalize
    from pocketml.outputs import OutputFolder, write_atomic
    from pocketml.report.ondevice import page, personalize_section_html, print_personalize

    settings = PersonalizeSettings(devices=devices, seeds=_ints(seeds, "seeds"), samples=_ints(samples, "samples"),
                                   trainable=tuple(t.strip() for t in trainable.split(",") if t.strip()),
                                   bias_layers=bias_layers, epochs=epochs, lr=lr).check()
    folder = OutputFolder(out, force=force, command="ondevice personalize")
    folder.check()
    doc = personalize(settings, progress=not as_json).to_json()
    with folder.stage() as work:
        write_atomic(work / "personalize.json", json.dumps(doc, indent=2))
        write_atomic(work / "report.html",
                     page("pocketml: personalisation on the device", personalize_section_html(doc)))
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        print_personalize(doc, console)
        console.print(f"wrote {out}/personalize.json, {out}/report.html", markup=False, highlight=False)


@ondevice_app.command()
def federate(
    clients: int = typer.Option(10, help="Devices in the fleet (each with its own sensor shift)."),
    rounds: int = typer.Option(10, help="Server rounds."),
    fraction: float = typer.Option(1.0, help="Share of clients sampled each round."),
    partition: str = typer.Option("iid", help="iid | dirichlet:ALPHA | size:SIGMA."),
    local_epochs: int = typer.Option(1, help="Local passes of batch-1 SGD per round."),
    lr: float = typer.Option(0.01, help="Learning rate of the training step."),
    compress: str = typer.Option("none", help="Uplink codec: none | int8 | topk | int8-topk (error feedback)."),
    trainable: str = typer.Option("last", help="The federated part: last, bias or last+bias."),
    device: str = typer.Option("nano33ble", help="The board (core, clock, power, radio) that prices a round."),
    radio: str | None = typer.Option(None, help="Uplink radio (default: the board's own)."),
    python_clients: bool = typer.Option(True, help="Also run the same fleet with PyTorch clients, to compare."),
    seed: int = typer.Option(0, help="Seed of the base model, partition, shifts and sampling."),
    out: Path = typer.Option(Path("out/ondevice-federate"), help="Output folder: federated.json, report.html."),
    as_json: bool = typer.Option(False, "--json", help="Print federated.json."),
    force: bool = FORCE_OPT,
) -> None:
    """A Flower fleet whose clients run the emitted C training step; accuracy, uplink bytes, energy per round."""
    from pocketml.ondevice.federate import FederateInCSettings, federate_in_c
    from pocketml.outputs import OutputFolder, write_atomic
    from pocketml.report.ondevice import federate_c_section_html, page, print_federate_c

    settings = FederateInCSettings(device=device, radio=radio, clients=clients, rounds=rounds, fraction=fraction,
                                   partition=partition, local_epochs=local_epochs, lr=lr, compress=compress,
                                   trainable=trainable, seed=seed, python_clients=python_clients)
    settings.check()  # bad settings fail before the model trains
    folder = OutputFolder(out, force=force, command="ondevice federate")
    folder.check()
    doc = federate_in_c(settings, progress=not as_json).to_json()
    with folder.stage() as work:
        write_atomic(work / "federated.json", json.dumps(doc, indent=2))
        write_atomic(work / "report.html", page("pocketml: federated clients that train in C",
                                                federate_c_section_html(doc)))
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        print_federate_c(doc, console)
        console.print(f"wrote {out}/federated.json, {out}/report.html", markup=False, highlight=False)
