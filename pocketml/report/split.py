"""Split inference in the terminal and in HTML: every cut, its bytes, energy and latency, the chosen cuts."""

from __future__ import annotations

import html
from typing import Any

from rich.console import Console
from rich.table import Table

from pocketml.report.svg import figure_svg


def _num(value: float | None, scale: float, fmt: str) -> str:
    return "-" if value is None else format(value * scale, fmt)


def _mark(doc: dict[str, Any], k: int) -> str:
    marks = [m for m, key in (("E", "min_device_energy_cut"), ("L", "min_latency_cut")) if doc[key] == k]
    return "+".join(marks)


def print_split(doc: dict[str, Any], console: Console | None = None) -> None:
    """One split report (``SplitReport.to_json()``) as a table; E = least device energy, L = least latency."""
    console = console or Console()
    table = Table(title=f"split {doc['model']}: {doc['device']} → {doc['radio']} → {doc['gateway']} "
                        f"({'entropy-coded' if doc['entropy_coded'] else 'raw int8'}; estimates)", header_style="bold")
    for col in ("cut", "after", "sent B", "coded B", "device instructions", "device mJ", "radio mJ", "gateway ms",
                "latency ms", "exact", "chosen"):
        table.add_column(col, justify="left" if col in ("after", "chosen") else "right")
    for c in doc["cuts"]:
        table.add_row(str(c["after"]), c["last_op"], f"{c['raw_bytes']:,}",
                      "-" if c["coded_bytes"] is None else f"{c['coded_bytes']:,.0f}",
                      f"{c['device_instructions']:,.0f}", f"{c['device_joules'] * 1e3:.3f}",
                      f"{c['radio_joules'] * 1e3:.3f}", f"{c['gateway_seconds'] * 1e3:.2f}",
                      f"{c['latency_seconds'] * 1e3:.1f}", "yes" if c["exact"] else "[red]NO[/]",
                      _mark(doc, c["after"]))
    console.print(table)
    strategies = Table(title="strategies (same test inputs; accuracy of the deployed C)", header_style="bold")
    for col in ("strategy", "cut", "device mJ", "latency ms", "accuracy"):
        strategies.add_column(col, justify="left" if col == "strategy" else "right")
    for s in doc["strategies"]:
        strategies.add_row(s["strategy"], "-" if s["cut"] is None else str(s["cut"]), f"{s['device_joules'] * 1e3:.3f}",
                           "-" if s["latency_seconds"] is None else f"{s['latency_seconds'] * 1e3:.1f}",
                           "-" if s["accuracy"] is None else f"{s['accuracy']:.2%}")
    console.print(strategies)


def split_chart(doc: dict[str, Any]) -> str:
    """Device energy and end-to-end latency per cut (log scale), the chosen cuts marked."""
    import matplotlib.pyplot as plt

    cuts = doc["cuts"]
    xs = [c["after"] for c in cuts]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3))
    a.semilogy(xs, [c["device_joules"] * 1e3 for c in cuts], "o-", label="device energy")
    a.semilogy(xs, [c["radio_joules"] * 1e3 for c in cuts], "x--", label="of which radio")
    b.semilogy(xs, [c["latency_seconds"] * 1e3 for c in cuts], "o-", color="C2")
    a.axvline(doc["min_device_energy_cut"], color="k", ls=":", lw=1)
    b.axvline(doc["min_latency_cut"], color="k", ls=":", lw=1)
    a.set_ylabel("mJ per inference (estimate)")
    b.set_ylabel("ms per inference (estimate)")
    for ax in (a, b):
        ax.set_xticks(xs, [c["last_op"] for c in cuts], rotation=60, fontsize=6)
    a.legend(fontsize=7)
    a.set_title(f"device energy over {doc['radio']} (dotted: least)", fontsize=9)
    b.set_title("end-to-end latency (dotted: least)", fontsize=9)
    return figure_svg(fig)


def split_section_html(docs: list[dict[str, Any]]) -> str:
    """An HTML section: per radio, the chart, every cut and the strategies."""
    e = html.escape
    parts = ["<h2>Split inference</h2><p class=est>The device runs the ops before the cut (its own verified C "
             "model), sends the int8 tensors crossing the cut, the gateway runs the rest. Energies and times are "
             "estimates (docs/ondevice.md); instructions are QEMU counts.</p>"]
    for doc in docs:
        rows = "".join(
            f"<tr><td>{c['after']}</td><td>{e(c['last_op'])}</td><td>{c['raw_bytes']:,}</td>"
            f"<td>{_num(c['coded_bytes'], 1, ',.0f')}</td>"
            f"<td>{c['device_instructions']:,.0f}</td><td>{c['device_joules'] * 1e3:.3f}</td>"
            f"<td>{c['latency_seconds'] * 1e3:.1f}</td><td class={'ok' if c['exact'] else 'bad'}>"
            f"{'yes' if c['exact'] else 'NO'}</td><td>{_mark(doc, c['after'])}</td></tr>" for c in doc["cuts"])
        strat = "".join(f"<tr><td>{e(s['strategy'])}</td><td>{'-' if s['cut'] is None else s['cut']}</td>"
                        f"<td>{s['device_joules'] * 1e3:.3f}</td><td>"
                        f"{_num(s['latency_seconds'], 1e3, '.1f')}</td><td>{_num(s['accuracy'], 1, '.2%')}</td></tr>"
                        for s in doc["strategies"])
        parts += [f"<h3>{e(doc['model'])} on {e(doc['device'])} over {e(doc['radio'])} to {e(doc['gateway'])}</h3>",
                  f"<figure>{split_chart(doc)}</figure>",
                  "<table><tr><th>cut</th><th>after</th><th>sent B</th><th>coded B</th><th>device instructions</th>"
                  "<th>device mJ</th><th>latency ms</th><th>exact</th><th>chosen</th></tr>" + rows + "</table>",
                  "<table><tr><th>strategy</th><th>cut</th><th>device mJ</th><th>latency ms</th><th>accuracy</th></tr>"
                  + strat + "</table>", "<ul>" + "".join(f"<li>{e(n)}</li>" for n in doc["notes"]) + "</ul>"]
    return "\n".join(parts)


def split_page(docs: list[dict[str, Any]]) -> str:
    """The self-contained report.html of ``pocketml split``: the split section alone."""
    from pocketml.report.html import CSS

    return (f"<!doctype html><html><head><meta charset='utf-8'><title>pocketml split</title><style>{CSS}</style>"
            f"</head><body>{split_section_html(docs)}</body></html>\n")
