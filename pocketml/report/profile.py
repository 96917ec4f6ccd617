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
    for col, justify in (("layer", "left"), ("op", "left"), ("MACs", "right"), ("instructions", "right"),
                         ("per MAC", "right"), ("share", "right")):
        table.add_column(col, justify=justify)
    for layer in profile.layers:
        per_mac = layer.instructions_per_mac
        table.add_row(layer.name, layer.kind, f"{layer.macs:,}", f"{layer.instructions:,}",
                      "" if per_mac is None else f"{per_mac:.2f}", f"{layer.instructions / total:.1%}" if total else "")
    macs = sum(layer.macs for layer in profile.layers)
    table.add_row("total", "", f"{macs:,}", f"{total:,}", f"{total / macs:.2f}" if macs else "", "100%",
                  style="bold")
    console.print(table)
    if profile.clock_mhz:
        console.print(f"latency at {profile.clock_mhz:g} MHz: >= {total / (profile.clock_mhz * 1e3):.2f} ms "
                      "(estimate: one instruction per cycle; loads, taken branches and flash wait states cost more)",
                      highlight=False)
    console.print(f"method: {PROFILE_METHOD}", style="dim", highlight=False)
