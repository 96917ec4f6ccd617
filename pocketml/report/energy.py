"""Terminal rendering of an energy budget (``pocketml energy OUT``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pocketml.energy.budget import EnergyBudget


def print_energy(b: EnergyBudget, console: Console) -> None:
    t = Table(title=f"energy budget on {b.device_id} at {b.rate_hz * 60:.4g}/min (estimates; sources: docs/energy.md)")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k, v in [("energy per inference", f"{b.joules_per_inference * 1e3:.4g} mJ"),
                 ("time per inference", f"{b.seconds_per_inference * 1e3:.4g} ms"),
                 ("cycles per inference", f"{b.cycles_per_inference:,.0f}"),
                 ("duty cycle", f"{b.duty_cycle:.2%}"),
                 (f"radio message ({b.radio}, {b.bytes_per_message} B)", f"{b.joules_per_message * 1e6:.4g} uJ"),
                 ("radio idle", f"{b.radio_idle_watts * 1e6:.4g} uW"),
                 ("sleep power", f"{b.sleep_watts * 1e6:.4g} uW"),
                 ("average power", f"{b.average_watts * 1e6:.4g} uW"),
                 (f"battery ({b.battery})", f"{b.battery_joules:,.0f} J ({b.battery_joules / 3600:.3g} Wh)"),
                 ("lifetime", f"{b.lifetime_days:,.1f} days ({b.lifetime_days / 365.25:.2f} years)"),
                 ("daily need", f"{b.daily_joules:.4g} J")]:
        t.add_row(k, v)
    console.print(t)
    console.print(f"[dim]cycles: {b.cycles_method}[/dim]")
    if b.send_vs_compute:
        c = Table(title="send the raw input vs compute here and send the result (per inference)")
        for col in ("radio", "send raw mJ", "compute + send result mJ", "cheaper", "federated update mJ"):
            c.add_column(col, justify="left" if col == "radio" else "right")
        for r in b.send_vs_compute:
            c.add_row(r["radio"], f"{r['send_raw_j'] * 1e3:.4g}", f"{r['compute_and_send_result_j'] * 1e3:.4g}",
                      "compute locally" if r["local_wins"] else "send raw",
                      f"{r.get('send_update_j', float('nan')) * 1e3:.4g}")
        console.print(c)
    h = Table(title="harvesting: daily income vs daily need")
    for col in ("harvester", "J/day", "sustains", "margin"):
        h.add_column(col, justify="left" if col == "harvester" else "right")
    for r in b.harvest:
        h.add_row(r["harvester"], f"{r['joules_per_day']:.4g}", "yes" if r["sustains"] else "no", f"{r['margin']:.2f}x")
    console.print(h)
    if b.sanity:
        s = b.sanity
        console.print(f"sanity: {s['nanojoules_per_mac']:.3g} nJ/MAC vs MLPerf Tiny DS-CNN reference "
                      f"{s['reference_nanojoules_per_mac']:.3g} nJ/MAC ({s['ratio']:.2f}x, "
                      f"{'plausible' if s['plausible'] else 'OUTSIDE the 10x band'})")
    for w in b.warnings:
        console.print(f"[yellow]warning:[/] {w}")
