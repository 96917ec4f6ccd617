"""Terminal table of ``pocketml shrink --check``: each layer of a PyTorch model and what it becomes."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_model_check(check, console: Console) -> None:
    """``check``: a ``pocketml.graph.capture.ModelCheck``."""
    table = Table(title=f"{check.model}: {'captures' if check.compiles else 'does NOT capture'} "
                        f"({len(check.blockers)} blocker{'s' if len(check.blockers) != 1 else ''})")
    for col in ("module", "layer", "aten op", "pocketml op", "status"):
        table.add_column(col)
    for layer in check.layers:
        status = "[green]ok[/]" if layer.ok else f"[red]{layer.problem}[/]"
        table.add_row(layer.module or "-", layer.layer, layer.op, layer.becomes, status)
    console.print(table)
    if not check.compiles:
        console.print(f"pocketml can deploy: {check.supported}", highlight=False, markup=False)
