"""Personalisation and C-client federated runs: rich tables and report.html sections (from their to_json())."""

from __future__ import annotations

import html
from typing import Any

from rich.console import Console
from rich.table import Table

from pocketml.report.html import CSS
from pocketml.report.svg import figure_svg


def page(title: str, body: str) -> str:
    """A self-contained report.html around one or more sections."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


# ---- personalisation ---------------------------------------------------------------------------

def print_personalize(doc: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    s = doc["settings"]
    table = Table(title=f"personalisation: {s['model']}, {s['devices']} devices x {len(s['seeds'])} seeds "
                        "(held-out accuracy on each device's own shifted samples)", header_style="bold")
    for col in ("method", "N", "runs", "accuracy mean ± sd", "gain mean ± sd", "gain min..max"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in doc["summary"]:
        table.add_row(r["method"], "-" if r["method"] == "before" else str(r["samples"]), str(r["runs"]),
                      f"{100 * r['mean']:.1f} ± {100 * r['std']:.1f}",
                      f"{100 * r['gain_mean']:+.1f} ± {100 * r['gain_std']:.1f}",
                      f"{100 * r['gain_min']:+.1f}..{100 * r['gain_max']:+.1f}")
    console.print(table)


def personalize_chart(doc: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for method in dict.fromkeys(r["method"] for r in doc["summary"]):
        rows = [r for r in doc["summary"] if r["method"] == method]
        ax.errorbar([r["samples"] for r in rows], [100 * r["mean"] for r in rows], [100 * r["std"] for r in rows],
                    marker="o", capsize=3, label=method)
    ax.set_xscale("log")
    ax.set_xticks(doc["settings"]["samples"], [str(n) for n in doc["settings"]["samples"]])
    ax.set_xlabel("local labelled samples N")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title("per-device adaptation: mean ± sd over devices x seeds", fontsize=9)
    ax.legend(fontsize=7)
    return figure_svg(fig)


def personalize_section_html(doc: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(r['method'])}</td><td>{'-' if r['method'] == 'before' else r['samples']}</td>"
                   f"<td>{r['runs']}</td><td>{100 * r['mean']:.1f} ± {100 * r['std']:.1f}</td>"
                   f"<td>{100 * r['gain_mean']:+.1f} ± {100 * r['gain_std']:.1f}</td></tr>" for r in doc["summary"])
    methods = "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in doc["methods"].items())
    return ("<h2>Personalisation on the device</h2><p>Each device sees digits through its own rotation, stroke "
            "width, gain and noise; it adapts with N labelled samples of its own and is scored on its own held-out "
            "samples.</p>" + f"<figure>{personalize_chart(doc)}</figure>"
            "<table><tr><th>method</th><th>N</th><th>runs</th><th>accuracy % mean ± sd</th><th>gain (points)</th></tr>"
            f"{rows}</table><ul>{methods}</ul>")


# ---- federated C clients -----------------------------------------------------------------------

def print_federate_c(doc: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    c, py = doc["c_clients"], doc["python_clients"]
    table = Table(title=f"federated, clients training in C ({doc['settings']['trainable']}): "
                        f"{doc['settings']['clients']} clients, {doc['radio']} uplink (energy: estimates)",
                  header_style="bold")
    for col in ("round", "accuracy C", "accuracy Python", "uplink wire B", "payload B", "train steps", "device J"):
        table.add_column(col, justify="right")
    for i, e in enumerate(doc["energy_per_round"]):
        table.add_row(str(e["round"]), f"{c['accuracy'][i]:.2%}", "-" if py is None else f"{py['accuracy'][i]:.2%}",
                      f"{c['bytes_up_per_round'][i]:,}", f"{e['payload_bytes']:,}", f"{e['train_steps']:,}",
                      f"{e['joules']:.3f}")
    console.print(table)
    gap = doc["accuracy_gap"]
    console.print(f"before round 1: {c['initial_accuracy']:.2%}; largest |C - Python| gap: "
                  + ("n/a" if gap is None else f"{100 * gap:.2f} points") + f"; trainable part "
                  f"{doc['trainable_part_bytes']:,} B vs the whole float model {doc['full_model_bytes']:,} B; "
                  f"{doc['instructions_per_step']:,.0f} instructions per train step ({doc['instructions_method']})",
                  markup=False, highlight=False)


def federate_chart(doc: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    c, py = doc["c_clients"], doc["python_clients"]
    rounds = list(range(len(c["accuracy"]) + 1))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(rounds, [100 * c["initial_accuracy"], *(100 * a for a in c["accuracy"])], "o-", label="clients train in C")
    if py is not None:
        ax.plot(rounds, [100 * py["initial_accuracy"], *(100 * a for a in py["accuracy"])], "x--",
                label="clients train in PyTorch")
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7)
    ax.set_title("global trainable part after each round", fontsize=9)
    return figure_svg(fig)


def federate_c_section_html(doc: dict[str, Any]) -> str:
    c, py = doc["c_clients"], doc["python_clients"]
    rows = "".join(f"<tr><td>{e['round']}</td><td>{100 * c['accuracy'][i]:.2f}</td>"
                   f"<td>{'-' if py is None else format(100 * py['accuracy'][i], '.2f')}</td>"
                   f"<td>{c['bytes_up_per_round'][i]:,}</td><td>{e['payload_bytes']:,}</td><td>{e['train_steps']:,}</td>"
                   f"<td>{e['compute_joules']:.3f}</td><td>{e['radio_joules']:.3f}</td></tr>"
                   for i, e in enumerate(doc["energy_per_round"]))
    notes = "".join(f"<li>{html.escape(v)}</li>" for v in doc["notes"].values())
    return ("<h2>Federated: clients that train in C</h2><p>Every client's local training is the emitted training "
            "step (what the microcontroller computes); the uplink carries the trainable part only "
            f"({doc['trainable_part_bytes']:,} B as float32, vs {doc['full_model_bytes']:,} B for the whole float "
            "model).</p>" + f"<figure>{federate_chart(doc)}</figure>"
            "<table><tr><th>round</th><th>accuracy C %</th><th>accuracy Python %</th><th>uplink wire B</th>"
            "<th>payload B</th><th>train steps</th><th>compute J</th><th>radio J</th></tr>" + rows + "</table>"
            f"<ul>{notes}</ul>")
