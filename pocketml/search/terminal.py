"""``pocketml match`` in the terminal: the Pareto front as a rich table, then the chosen model."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_match(result, console: Console) -> None:
    d = result.to_dict()
    b = d["budget"]
    caps = [f"RAM {b['ram_bytes']:,} B", f"flash {b['flash_bytes']:,} B"]
    if b["latency_ms"] is not None:
        caps.append(f"latency {b['latency_ms']:g} ms")
    if b["energy_uj"] is not None:
        caps.append(f"energy {b['energy_uj']:g} µJ")
    table = Table(title=f"Pareto front: {d['task']} on {d['device']} (budget: {', '.join(caps)})")
    for col in ("model", "val acc", "flash B", "RAM B", "arena B", "MACs", "latency ms*"):
        table.add_column(col, justify="left" if col == "model" else "right")
    chosen = result.chosen.candidate.number
    for c in result.front:
        mark = " ◀ chosen" if c.number == chosen else ""
        table.add_row(c.arch.label + mark, f"{c.accuracy:.4f}", f"{c.cost.flash_bytes:,}", f"{c.cost.ram_bytes:,}",
                      f"{c.cost.arena_bytes:,}", f"{c.cost.macs:,}", f"{c.cost.latency_ms:.3f}")
    console.print(table)
    console.print(f"{d['n_candidates']} candidates: {d['n_pruned']} pruned before training (over budget), "
                  f"{d['n_trained']} trained, {d['n_not_deployable']} not deployable; "
                  f"search {d['search_seconds']} s, total {d['total_seconds']} s.  * latency: estimate")
    for family, why in d["settings"].get("excluded_families", {}).items():
        console.print(f"[yellow]family {family} left out[/]: {why}")
    ch = d["chosen"]
    verdict = "[green]fits[/]" if ch["fits"] else f"[red]does not fit[/]: {ch['miss_text']}"
    console.print(f"[bold]chosen[/]: {ch['label']}: test accuracy {ch['accuracy']:.4f} (verified C, "
                  f"{ch['c_mismatches']} mismatches), flash {ch['flash_bytes']:,} B, RAM {ch['ram_bytes']:,} B, "
                  f"latency {ch['latency_ms']:.3f} ms (estimate); {verdict}")
    if not result.front:
        console.print("[yellow]no candidate meets the budget[/]: the chosen model is the closest one.")
