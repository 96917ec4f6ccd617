"""`pocketml split OUT`: every cut of a shrunk model between its board and a gateway, priced over a radio."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import DEVICES_OPT, FORCE_OPT, app, console


@app.command(rich_help_panel="Inspect")
def split(
    out: Path = typer.Argument(..., help="An OUT folder written by `pocketml shrink --out OUT`."),
    radio: str = typer.Option("ble", help="Link from the board to the gateway: ble, lora or wifi; several "
                                          "comma-separated (ble,lora)."),
    gateway: str = typer.Option("rpi4", help="The board that runs the rest (a catalogue id; Raspberry Pi 4 by "
                                             "default)."),
    entropy: bool = typer.Option(False, "--entropy", help="Price the entropy-coded tensors (static Huffman code per "
                                                         "cut) instead of raw int8."),
    samples: int = typer.Option(32, help="Test inputs every cut is verified on (device C and end to end)."),
    qemu: bool = typer.Option(True, "--qemu/--no-qemu", help="Count the device part's instructions in QEMU (a "
                                                            "Cortex-M board); --no-qemu uses the cost model."),
    write: Path | None = typer.Option(None, help="Where to write split.json, report.html and the chosen cuts' device "
                                                 "C (default OUT/split)."),
    devices_file: Path | None = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
    force: bool = FORCE_OPT,
) -> None:
    """Split inference: the device runs the layers before a cut, sends the int8 activation, the gateway the rest.

    Lists every cut with the bytes sent, device instructions (QEMU) and energy, gateway time and end-to-end
    latency; marks the cut with the least device energy (E) and the least latency (L); sets them beside the
    offloading cascade of shrink. Every cut is verified: the device's C equals the reference at the cut, and
    the end-to-end output equals the whole model's, byte for byte (exit 2 if not). Estimates: docs/ondevice.md.
    """
    from pocketml.ondevice.split import check_radio, measure_split
    from pocketml.outputs import OutputFolder, write_atomic
    from pocketml.report.split import print_split, split_page

    radios = [check_radio(r.strip()).id for r in radio.split(",") if r.strip()]
    folder = OutputFolder(write or out / "split", force=force, command="split")
    folder.check()
    measured = measure_split(out, gateway=gateway, samples=samples, qemu=qemu, devices=devices_file,
                             progress=not as_json)
    reports = [measured.report(r, entropy) for r in radios]
    docs = [r.to_json() for r in reports]
    with folder.stage() as work:
        write_atomic(work / "split.json", json.dumps({"reports": docs}, indent=2))
        write_atomic(work / "report.html", split_page(docs))
        chosen = {c.after for r in reports for c in (r.min_energy, r.min_latency)} - {0, len(measured.order)}
        for k in sorted(chosen):
            device = work / f"device_cut{k}"
            device.mkdir()
            for name, text in measured.cuts[k].device_files.items():
                (device / name).write_text(text)
    if as_json:
        print(json.dumps({"reports": docs}, indent=2))
    else:
        for doc in docs:
            print_split(doc, console)
        cut_dirs = "".join(f", device_cut{k}/" for k in sorted(chosen))
        console.print(f"wrote {folder.out}/split.json, report.html{cut_dirs}",
                      markup=False, highlight=False)
    if not all(r.exact for r in reports):
        raise typer.Exit(2)
