"""Terminal table of ``pocketml compile --check``: each TFLite operator, its options, and whether it compiles."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_compile_check(check, console: Console) -> None:
    """``check``: a ``pocketml.pipeline.CompileCheck``."""
    table = Table(title=f"{check.model}: {'compiles' if check.compiles else 'does NOT compile'}")
    for col in ("#", "operator", "options", "pocketml op", "status"):
        table.add_column(col)
    for op in check.operators:
        opts = ", ".join(f"{k}={v}" for k, v in op.options.items())
        status = "[green]ok[/]" if op.ok else f"[red]{op.problem}[/]"
        table.add_row("-" if op.index < 0 else str(op.index), op.op, opts, op.becomes, status)
    console.print(table)
    outputs = list(getattr(check, "outputs", ())) or [check.output]
    labels = ["output"] if len(outputs) == 1 else [f"output {k}" for k in range(len(outputs))]
    for label, edge in (("input", check.input), *zip(labels, outputs, strict=True)):
        if edge:
            console.print(f"{label}: {edge['dtype']} {edge['shape']} (int8 scale {edge['scale']:.6g}, "
                          f"zero point {edge['zero_point']})")
    if not check.compiles:
        console.print(check.supported, highlight=False)
