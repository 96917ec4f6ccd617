"""Rich tables for the terminal: a Result, and the device catalogue."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pocketml.devices.device import Device
from pocketml.result import Result


def _kb(n: int) -> str:
    return f"{n / 1024:,.1f} KB" if n >= 1024 else f"{n} B"


def print_result(result: Result, console: Console | None = None) -> None:
    console = console or Console()
    d = result.device
    summary = Table(title=escape(f"pocketml {result.command}: {result.model} → {d.name} ({d.core} @ "
                                 f"{d.clock_mhz:g} MHz)"), show_header=True, header_style="bold")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_column("note")
    acc = result.accuracy
    if acc.float32 is None or acc.int8 is None or acc.c is None:  # no labels: outputs are not class scores
        summary.add_row("accuracy", "n/a", f"{result.n_test} test samples, no labels")
        summary.add_row("compiled C", f"{result.c_mismatches}", "samples differ from the reference")
    else:
        summary.add_row("accuracy float32", f"{acc.float32:.2%}", f"{result.n_test} test samples")
        summary.add_row("accuracy int8 reference", f"{acc.int8:.2%}", f"{100 * (acc.int8 - acc.float32):+.1f} points")
        summary.add_row("accuracy compiled C", f"{acc.c:.2%}",
                        f"{result.c_mismatches} samples differ from the reference")
    s = result.size_bytes
    if result.command == "compile":  # the model came quantized: there was never a float32 size here
        summary.add_row("weights+biases int8", _kb(s.int8), "as the .tflite stores them")
    else:
        summary.add_row("weights+biases float32 → int8", f"{_kb(s.float32)} → {_kb(s.int8)}",
                        f"{s.float32 / s.int8:.2f}x smaller")
    summary.add_row("arena (static plan)", _kb(result.arena_bytes), "one static buffer, no malloc")
    summary.add_row("RAM / flash", f"{_kb(result.ram_bytes)} / {_kb(result.flash_bytes)}",
                    f"of {_kb(d.sram_bytes)} / {_kb(d.flash_bytes)}")
    summary.add_row("MACs per inference", f"{result.macs:,}", "")
    summary.add_row("latency (estimate)", f"{result.cost.latency_ms:.3f} ms",
                    f"energy (estimate) {result.cost.energy_uj:.2f} µJ; {escape(result.cost.method)}")
    verdict = "[green]fits[/]" if result.fits else "[red]does not fit[/]"
    summary.add_row("fits the board", verdict, escape(result.fit_reason))
    if result.training is not None:  # the on-device training step (shrink --trainable)
        t = result.training.to_dict()
        checks = ", ".join(f"{c['runtime']} {'bit-exact' if c['exact'] else 'DIFFERS'}" for c in t["check"])
        summary.add_row(f"training step ({t['trainable']})", f"{t['trainable_values']:,} values",
                        f"c/train.c; C vs reference: {checks}")
        cm = t.get("cortexm")
        if cm:
            summary.add_row("training RAM / step", _kb(cm["ram_bytes"]),
                            f"vs {_kb(cm['inference_ram_bytes'] or 0)} inference; "
                            f"{cm['instructions_per_step'] or 0:,} instructions per step")
    console.print(summary)

    layers = Table(title="layers", header_style="bold")
    for col in ("layer", "op", "output", "MACs", "int8 bytes", "float32 bytes"):
        layers.add_column(col, justify="right" if col not in ("layer", "op") else "left")
    for row in result.layers:
        layers.add_row(escape(row.name), row.kind, "x".join(map(str, row.out_shape)), f"{row.macs:,}",
                       f"{row.stored_bytes:,}", f"{row.float_bytes:,}")
    console.print(layers)


def _short(n: int) -> str:
    for unit, size in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if n >= size:
            return f"{n / size:.4g}{unit}"
    return str(n)


def print_devices(devices: dict[str, Device], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"{len(devices)} boards (--json for every field and its datasheet source)",
                  header_style="bold")
    table.add_column("id", no_wrap=True)
    table.add_column("name")
    table.add_column("core", no_wrap=True)
    for col in ("MHz", "SRAM", "flash", "mW run", "mW sleep"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("radios")
    for d in devices.values():
        table.add_row(d.id, d.name, d.core, f"{d.clock_mhz:g}", _short(d.sram_bytes), _short(d.flash_bytes),
                      f"{d.active_mw:g}", f"{d.sleep_mw:g}", " ".join(d.radios) or "-")
    console.print(table)
