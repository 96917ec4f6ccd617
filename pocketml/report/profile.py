"""The per-layer profile on the target, as a rich table (``pocketml profile``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pocketml.deploy.cortexm.profile import PROFILE_METHOD, OutputProfile


def print_profile(profile: OutputProfile, console: Console | None = None) -> None:
    console = console or Console()
    total = profile.total
    table = Table(title=f"{profile.model} on {profile.device} ({profile.core}, {profile.kernels} kernels, "
                        f"{profile.c_dir}/)", header_style="bold")
    estimated = bool(profile.layers) and all(layer.cycles is not None for layer in profile.layers)
    for col, justify in (("layer", "left"), ("op", "left"), ("MACs", "right"), ("instructions", "right"),
                         ("per MAC", "right"), ("share", "right"), *((("cycles (estimate)", "right"),) * estimated)):
        table.add_column(col, justify=justify)
    for layer in profile.layers:
        per_mac = layer.instructions_per_mac
        table.add_row(layer.name, layer.kind, f"{layer.macs:,}", f"{layer.instructions:,}",
                      "" if per_mac is None else f"{per_mac:.2f}", f"{layer.instructions / total:.1%}" if total else "",
                      *((f"{layer.cycles:,}",) * estimated))
    macs = sum(layer.macs for layer in profile.layers)
    cycles = sum(layer.cycles or 0 for layer in profile.layers)
    table.add_row("total", "", f"{macs:,}", f"{total:,}", f"{total / macs:.2f}" if macs else "", "100%",
                  *((f"{cycles:,}",) * estimated), style="bold")
    console.print(table)
    if profile.clock_mhz:
        console.print(f"latency at {profile.clock_mhz:g} MHz: >= {total / (profile.clock_mhz * 1e3):.2f} ms at one "
                      "instruction per cycle", highlight=False)
        summary = profile.to_dict()["cycles_estimate"]
        if summary:
            console.print(f"estimated {summary['cycles']:,} cycles = {summary['latency_ms']:.2f} ms "
                          f"({summary['latency_ms_no_cache']:.2f} ms if every taken branch paid the flash's "
                          f"{summary['flash_wait_states'] or 0} wait states): an estimate from the instruction mix, "
                          "not a measurement", highlight=False)
    console.print(f"method: {PROFILE_METHOD}", style="dim", highlight=False)
