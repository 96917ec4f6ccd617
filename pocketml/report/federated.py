"""Terminal summary of ``pocketml federate``: rendered from federated.json (what ``--json`` prints),
so the flat fleet, SecAgg+ and the cell → region hierarchy share one renderer and the CLI formats
nothing itself."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _rounds_table(doc: dict[str, Any], title: str) -> Table:
    """Accuracy and bytes each way per round (the hierarchy has no per-round bytes: its links differ)."""
    per_round = "bytes_up_per_round" in doc
    table = Table(title=title, title_justify="left")
    table.add_column("round", justify="right")
    table.add_column("test accuracy", justify="right")
    if per_round:
        table.add_column("up (B)", justify="right")
        table.add_column("down (B)", justify="right")
    for i, acc in enumerate(doc["accuracy"]):
        row = [str(i + 1), f"{acc:.2%}"]
        if per_round:
            row += [f"{doc['bytes_up_per_round'][i]:,}", f"{doc['bytes_down_per_round'][i]:,}"]
        table.add_row(*row)
    return table


def print_federated(doc: dict[str, Any], console: Console, where: str) -> None:
    """``pocketml federate`` (any of its three runs): rounds, totals, privacy, personalisation, shrink."""
    if "secagg" in doc:
        console.print(_rounds_table(doc, "federated rounds (SecAgg+: the server decodes only the masked sum)"))
    elif "regions" in doc:
        console.print(_rounds_table(doc, f"top rounds ({doc['regions']} regions)"))
        b = doc["bytes"]
        console.print(f"cell → region {b['cell_to_region']:,} B, region → cell {b['region_to_cell']:,} B, "
                      f"region → top {b['region_to_top']:,} B, top → region {b['top_to_region']:,} B")
    else:
        console.print(_rounds_table(doc, f"federated rounds ({escape(str(doc.get('backend', 'local')))} backend)"))
        rejected = len(doc.get("rejected", []))
        line = f"rejected updates {rejected}"
        if doc.get("epsilon") is not None:
            line += f"; ε = {doc['epsilon']:.2f} at δ = {doc['delta']:g}"
        console.print(line)
        if doc.get("personalization"):
            p = doc["personalization"]
            console.print(f"per-client held-out accuracy: global {p['mean_global_accuracy']:.2%}, "
                          f"local head {p['mean_personal_accuracy']:.2%}")
        if doc.get("shrink"):
            s = doc["shrink"]
            console.print(f"shrunk for {escape(s['device'])}: int8 accuracy {s['accuracy']['int8']:.2%}, "
                          f"fits {s['fits']}")
    if "bytes_up" in doc:
        console.print(f"total up {doc['bytes_up']:,} B, down {doc['bytes_down']:,} B, {doc['wall_time_s']:.1f} s")
    else:
        console.print(f"{doc['wall_time_s']:.1f} s")
    console.print(f"wrote {where}", markup=False, highlight=False)
