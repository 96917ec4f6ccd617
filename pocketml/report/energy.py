"""An energy budget rendered: the terminal table (``pocketml energy OUT``), the report.html section
with its daily-budget plot, and the offloading cascade's curve."""

from __future__ import annotations

import html

from rich.console import Console
from rich.table import Table

from pocketml.energy.budget import EnergyBudget
from pocketml.energy.cascade import CascadePoint
from pocketml.energy.offload import OffloadCascade
from pocketml.energy.storage import SECONDS_PER_DAY
from pocketml.report.svg import figure_svg, plt


def print_energy(b: EnergyBudget, console: Console) -> None:
    t = Table(title=f"energy budget on {b.device_id} at {b.rate_hz * 60:.4g}/min (estimates; sources: docs/energy.md)")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k, v in [("energy per inference", f"{b.joules_per_inference * 1e3:.4g} mJ"),
                 ("time per inference", f"{b.seconds_per_inference * 1e3:.4g} ms"),
                 ("cycles per inference", f"{b.cycles_per_inference:,.0f}"),
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


def energy_section_html(budget: EnergyBudget, cascades: tuple[OffloadCascade, ...] = ()) -> str:
    """An HTML fragment: the budget table, the daily-budget plot and (if given) the cascade curve."""
    b = budget
    rows = [("energy per inference", f"{b.joules_per_inference * 1e3:.4g} mJ"),
            ("time per inference", f"{b.seconds_per_inference * 1e3:.4g} ms"),
            ("cycles per inference", f"{b.cycles_per_inference:,.0f} ({b.cycles_method})"),
            (f"radio message ({b.radio}, {b.bytes_per_message} B)", f"{b.joules_per_message * 1e6:.4g} uJ"),
            ("sleep power", f"{b.sleep_watts * 1e6:.4g} uW"), ("average power", f"{b.average_watts * 1e6:.4g} uW"),
            (f"battery ({b.battery})", f"{b.battery_joules:,.0f} J"),
            ("lifetime", f"{b.lifetime_days:,.1f} days"), ("daily need", f"{b.daily_joules:.4g} J")]
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    compare = "".join(
        f"<tr><td>{c['radio']}</td><td>{c['send_raw_j'] * 1e3:.4g}</td><td>{c['compute_and_send_result_j'] * 1e3:.4g}"
        f"</td><td class={'ok' if c['local_wins'] else 'bad'}>{'compute locally' if c['local_wins'] else 'send raw'}"
        f"</td></tr>" for c in b.send_vs_compute)
    parts = [f"<h2>Energy (estimate)</h2><p class=est>Estimates from datasheet constants (docs/energy.md) at "
             f"{b.rate_hz * 60:.4g} inferences per minute; every figure is an estimate.</p>",
             f"<table>{table}</table>",
             "<table><tr><th>radio</th><th>send raw mJ</th><th>compute + send result mJ</th><th>cheaper</th></tr>"
             f"{compare}</table>", f"<figure>{daily_budget_svg(b)}</figure>"]
    for cascade in cascades:
        chosen = cascade.chosen
        rows = "".join(f"<tr><td>{p.label}{' (chosen)' if p is chosen else ''}</td>"
                       f"<td>{'' if p.threshold is None else f'{p.threshold:.2f}'}</td>"
                       f"<td>{p.accuracy:.4f}</td><td>{p.joules_per_inference * 1e3:.4g}</td>"
                       f"<td>{p.offloaded_fraction:.3f}</td></tr>" for p in cascade.points)
        local, offload = cascade.points[0], cascade.points[-1]
        where = "" if chosen is None else (chosen.label if chosen.threshold is None
                                           else f"threshold {chosen.threshold:.2f}")
        verdict = ("no threshold reaches the target accuracy" if chosen is None else
                   f"chosen: {where}: accuracy {chosen.accuracy:.4f} "
                   f"(all local {local.accuracy:.4f}) at {chosen.joules_per_inference * 1e3:.4g} mJ "
                   f"(all offloaded {offload.joules_per_inference * 1e3:.4g} mJ); "
                   + ("beats both all-local and all-offloaded" if cascade.beats_both
                      else "does not beat both extremes on this test split"))
        parts += [f"<h3>Offloading cascade over {html.escape(cascade.radio)} (server: {html.escape(cascade.server)})"
                  "</h3>", f"<figure>{cascade_svg(list(cascade.points), chosen)}</figure>",
                  f"<p>{html.escape(verdict)}. Same test samples for every point; energies are estimates.</p>",
                  "<table><tr><th>point</th><th>threshold</th><th>accuracy</th><th>mJ per inference</th>"
                  f"<th>offloaded</th></tr>{rows}</table>"]
    for w in b.warnings:
        parts.append(f"<p class=bad>{html.escape(w)}</p>")
    return "\n".join(parts)


def daily_budget_svg(budget: EnergyBudget) -> str:
    """Stacked bar of the daily need (inference, radio, sleep) beside each harvester's daily income."""
    per_day = budget.rate_hz * SECONDS_PER_DAY
    inference = budget.joules_per_inference * per_day
    radio = budget.joules_per_message * per_day + budget.radio_idle_watts * SECONDS_PER_DAY
    sleep = budget.daily_joules - inference - radio
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(["need"], [inference], label="inference")
    ax.bar(["need"], [radio], bottom=[inference], label=f"radio ({budget.radio})")
    ax.bar(["need"], [sleep], bottom=[inference + radio], label="sleep")
    names = [h["harvester"] for h in budget.harvest]
    ax.bar(names, [h["joules_per_day"] for h in budget.harvest], color="#8c8", label="harvest (income)")
    ax.axhline(budget.daily_joules, color="k", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_ylabel("J per day (log)")
    ax.set_title(f"daily energy budget at {per_day:.0f} inferences/day (estimate)")
    ax.legend(fontsize=7)
    return figure_svg(fig)


def cascade_svg(points: list[CascadePoint], chosen: CascadePoint | None = None) -> str:
    """Energy per inference against accuracy for every threshold, with the two extremes marked."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    casc = [p for p in points if p.label != "all offloaded"]
    ax.plot([p.joules_per_inference * 1e3 for p in casc], [p.accuracy for p in casc], "o-", ms=3,
            label="cascade (threshold 0 = all local)")
    for p, m in ((points[0], "s"), (points[-1], "^")):
        ax.plot([p.joules_per_inference * 1e3], [p.accuracy], m, ms=8, label=p.label)
    if chosen is not None:
        ax.plot([chosen.joules_per_inference * 1e3], [chosen.accuracy], "r*", ms=12,
                label="chosen: " + (chosen.label if chosen.threshold is None else f"threshold {chosen.threshold:.2f}"))
    ax.set_xscale("log")
    ax.set_xlabel("mJ per inference (log, estimate)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    return figure_svg(fig)
