"""``pocketml match`` rendered from match.json (``MatchResult.to_dict()``): the Pareto front as a
rich table, the chosen model, and ``front.png`` (accuracy against flash and latency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pocketml.outputs import atomic_path

COLORS = {"cnn": "tab:blue", "dscnn": "tab:purple", "mlp": "tab:green", "tree": "tab:orange"}


def print_match(doc: dict[str, Any], console: Console) -> None:
    """The front (the chosen one marked), how many candidates were pruned or trained, then the pick."""
    b = doc["budget"]
    caps = [f"RAM {b['ram_bytes']:,} B", f"flash {b['flash_bytes']:,} B"]
    if b["latency_ms"] is not None:
        caps.append(f"latency {b['latency_ms']:g} ms")
    if b["energy_uj"] is not None:
        caps.append(f"energy {b['energy_uj']:g} µJ")
    table = Table(title=f"Pareto front: {doc['task']} on {escape(doc['device'])} (budget: {', '.join(caps)})")
    for col in ("model", "val acc", "flash B", "RAM B", "arena B", "MACs", "latency ms*"):
        table.add_column(col, justify="left" if col == "model" else "right")
    ch = doc["chosen"]
    for c in doc["front"]:
        mark = " ◀ chosen" if c["number"] == ch["number"] else ""
        table.add_row(c["label"] + mark, f"{c['accuracy']:.4f}", f"{c['flash_bytes']:,}", f"{c['ram_bytes']:,}",
                      f"{c['arena_bytes']:,}", f"{c['macs']:,}", f"{c['latency_ms']:.3f}")
    console.print(table)
    console.print(f"{doc['n_candidates']} candidates: {doc['n_pruned']} pruned before training (over budget), "
                  f"{doc['n_trained']} trained, {doc['n_not_deployable']} not deployable; "
                  f"search {doc['search_seconds']} s, total {doc['total_seconds']} s.  * latency: estimate")
    for family, why in doc["settings"].get("excluded_families", {}).items():
        console.print(f"[yellow]family {family} left out[/]: {escape(why)}")
    verdict = "[green]fits[/]" if ch["fits"] else f"[red]does not fit[/]: {escape(ch['miss_text'])}"
    console.print(f"[bold]chosen[/]: {ch['label']}: test accuracy {ch['accuracy']:.4f} (verified C, "
                  f"{ch['c_mismatches']} mismatches), flash {ch['flash_bytes']:,} B, RAM {ch['ram_bytes']:,} B, "
                  f"latency {ch['latency_ms']:.3f} ms (estimate); {verdict}")
    if not doc["front"]:
        console.print("[yellow]no candidate meets the budget[/]: the chosen model is the closest one.")


def write_front_plot(doc: dict[str, Any], path: Path) -> None:
    """Two panels (flash, latency) of every trained candidate; the front outlined, the chosen one
    starred, the budget dashed; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trained = [c for c in doc["candidates"] if c["status"] == "trained"]
    front = {c["number"] for c in doc["front"]}
    chosen = next((c for c in doc["candidates"] if c["number"] == doc["chosen"]["number"]), None)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, (key, label) in zip(axes, (("flash_bytes", "flash bytes (measured, host gcc -Os)"),
                                       ("latency_ms", "latency ms (estimate)")), strict=True):
        for family, color in COLORS.items():
            pts = [c for c in trained if c["family"] == family]
            if not pts:
                continue
            ax.scatter([c[key] for c in pts], [c["accuracy"] for c in pts], s=22, alpha=0.45, color=color,
                       label=family)
            on = sorted((c for c in pts if c["number"] in front), key=lambda c: c[key])
            ax.scatter([c[key] for c in on], [c["accuracy"] for c in on], s=50, color=color,
                       edgecolors="black", linewidths=0.8)
        if chosen is not None and chosen.get(key) is not None and chosen["accuracy"] is not None:
            ax.scatter([chosen[key]], [chosen["accuracy"]], marker="*", s=260, color="gold", edgecolors="black",
                       label="chosen", zorder=5)
        if doc["budget"][key] is not None:
            ax.axvline(doc["budget"][key], color="red", linestyle="--", linewidth=1, label="budget")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation accuracy (brief training)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"pocketml match: {doc['task']} on {doc['device']} "
                 f"(front outlined, {len(trained)} trained of {len(doc['candidates'])} candidates)")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.88, wspace=0.08)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
