"""Terminal tables for ``pocketml verify``: one row a runtime, then the per-layer divergences."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pocketml.deploy.verify import VerifyReport


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value:,}{unit}"


def _mismatching(check) -> str:
    """Mismatching samples; with several outputs also each output's count, e.g. ``1 (0 / 1)``."""
    text = _fmt(check.mismatching_samples)
    if check.per_output is not None and len(check.per_output) > 1:
        text += " (" + " / ".join(f"{n:,}" for n in check.per_output) + ")"
    return text


def print_verify(report: VerifyReport, console: Console) -> None:
    table = Table(title=f"verify {report.model}: {report.samples} test inputs, each runtime vs the numpy reference")
    columns = ("runtime", "samples", "mismatching (per output)", "max diff", "arena B", "RAM B", "flash B",
               "latency µs", "note")
    for col in columns:
        table.add_column(col, justify="left" if col in ("runtime", "note") else "right")
    for c in report.checks:
        if not c.available:
            table.add_row(c.runtime, "-", "-", "-", "-", "-", "-", "-", f"unavailable: {c.note}")
            continue
        table.add_row(c.runtime, _fmt(c.samples), _mismatching(c), _fmt(c.max_abs_diff),
                      _fmt(c.arena_bytes), _fmt(c.ram_bytes), _fmt(c.flash_bytes), _fmt(c.latency_us), c.note)
    console.print(table)
    doc = report.to_dict()
    arena = doc["arena"]
    if doc.get("distinct_outputs") is not None:
        console.print(f"{doc['distinct_outputs']} distinct outputs in {doc['samples']} samples")
        if doc["weak_evidence"]:
            console.print("[yellow]warning:[/] so few distinct outputs that agreement shows little: the inputs "
                          "may not exercise the model (recompile with --inputs probe or more --samples)")
    if arena.get("tflm_source_bytes"):
        console.print(f"arena: planned {arena['planned_bytes']:,} B vs TFLite Micro on your source.tflite "
                      f"{arena['tflm_source_bytes']:,} B (ratio {arena['ratio_source']})")
    if arena["tflm_bytes"]:
        console.print(f"arena: planned {arena['planned_bytes']:,} B vs TFLite Micro {arena['tflm_bytes']:,} B "
                      f"on OUT/model.tflite (ratio {arena['ratio']}); TFLM figure: {arena['tflm_method']}")
    if doc["latency"]["c_over_tflm"] is not None:
        console.print(f"latency: C / TFLite Micro = {doc['latency']['c_over_tflm']} ({doc['latency']['method']})")
    verdict = "[green]bit-exact[/]" if report.exact else "[red]MISMATCH[/]"
    console.print(f"reference, C, TFLite Micro and QEMU (where run): {verdict}; LiteRT is reported, not required")
    if report.layers is None:
        return
    layers = Table(title="first layer where two runtimes diverge (the model cut after every layer)")
    for col in ("a", "b", "first diverging layer", "kind", "elements differing", "samples", "max diff"):
        layers.add_column(col)
    for pair in report.layers:
        f = pair.first
        if f is None:
            layers.add_row(pair.a, pair.b, "none: identical at every layer", "", "", "", "")
        else:
            layers.add_row(pair.a, pair.b, f.layer, f.kind, f"{f.elements_differing:,} of {f.elements:,}",
                           _fmt(f.samples_differing), _fmt(f.max_abs_diff))
    console.print(layers)
