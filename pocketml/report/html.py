"""report.html: one self-contained page (inline SVG plots, no network) rendering a Result."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pocketml.outputs import write_atomic
from pocketml.report.svg import figure_svg  # noqa: E402
from pocketml.result import Result  # noqa: E402

CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.ok{color:#070}.bad{color:#b00}.est{color:#666;font-style:italic}
figure{margin:1em 0}"""


def layer_bytes_chart(result: Result) -> str:
    rows = [r for r in result.layers if r.float_bytes]
    fig, ax = plt.subplots(figsize=(7, 3))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r.float_bytes for r in rows], 0.4, label="float32")
    ax.bar([x + 0.2 for x in xs], [r.stored_bytes for r in rows], 0.4, label="int8 (as stored)")
    ax.set_xticks(list(xs), [r.name for r in rows])
    ax.set_ylabel("bytes")
    ax.set_title("weights + biases per layer")
    ax.legend()
    return figure_svg(fig)


def memory_plan_chart(result: Result) -> str:
    mem = result.memory
    fig, ax = plt.subplots(figsize=(7, 3))
    for b in mem.buffers:
        if b.location != "arena":
            continue
        ax.add_patch(plt.Rectangle((b.first_op - 0.4, b.offset), b.last_op - b.first_op + 0.8, b.size, alpha=0.6,
                                   edgecolor="k"))
        ax.text(b.first_op - 0.35, b.offset + b.size / 2, "/".join(b.tensors), fontsize=7, va="center")
    arena = mem.arena_bytes or result.arena_bytes
    ax.plot(range(len(mem.live_bytes)), mem.live_bytes, "r.-", label="live bytes")
    ax.axhline(arena, color="k", ls="--", lw=1, label=f"arena {arena} B")
    ax.set_xticks(range(len(mem.ops)), mem.ops, rotation=30)
    ax.set_xlim(-0.6, len(mem.ops) - 0.4)
    ax.set_ylim(0, max(arena, 1) * 1.15)
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"{mem.build or 'static memory plan'}: each box is a region's place and lifetime", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return figure_svg(fig)


def accuracy_chart(result: Result) -> str:
    fig, ax = plt.subplots(figsize=(4, 2.5))
    acc = result.accuracy
    if None in (acc.float32, acc.int8, acc.c):  # no labels: the output is not class scores
        ax.text(0.5, 0.5, "no labels: accuracy not defined\n(outputs compared byte for byte)", ha="center")
        ax.set_axis_off()
        return figure_svg(fig)
    vals = [100 * acc.float32, 100 * acc.int8, 100 * acc.c]
    ax.bar(["float32", "int8 reference", "compiled C"], vals, color=["#888", "#36c", "#3a3"])
    for i, v in enumerate(vals):
        ax.text(i, v, f"{v:.1f}%", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(max(0, min(vals) - 10), 100.5)
    ax.set_ylabel("test accuracy (%)")
    return figure_svg(fig)


def target_profile_chart(layers: list[dict]) -> str:
    """Instructions per layer on the target (``cortexm.layers``), with each layer's instructions per MAC."""
    fig, ax = plt.subplots(figsize=(7, 3))
    xs = range(len(layers))
    ax.bar(list(xs), [row["instructions"] for row in layers], color="#36c")
    for x, row in zip(xs, layers, strict=True):
        if row.get("instructions_per_mac"):
            ax.text(x, row["instructions"], f"{row['instructions_per_mac']:.2f}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(list(xs), [row["name"] for row in layers], rotation=60, fontsize=6, ha="right")
    ax.set_ylabel("instructions (QEMU)")
    ax.set_title("instructions per layer on the target (labels: per MAC)")
    fig.tight_layout()
    return figure_svg(fig)


def _target_section(result: Result) -> str:
    """The Cortex-M build's per-layer profile, when the toolchain measured one."""
    cm = result.cortexm.to_dict() if result.cortexm is not None else {}
    layers = cm.get("layers")
    if not layers:
        return ""
    e = html.escape
    total = cm.get("instructions_per_inference") or sum(row["instructions"] for row in layers)
    rows = "".join(f"<tr><td>{e(r['name'])}</td><td>{e(r['kind'])}</td><td>{r['macs']:,}</td>"
                   f"<td>{r['instructions']:,}</td><td>{r['instructions_per_mac'] or ''}</td>"
                   f"<td>{100 * (r['share'] or 0):.1f}%</td></tr>" for r in layers)
    return f"""<h2>On the target: instructions per layer</h2>
<p>{e(cm.get('kernels', 'portable'))} kernels, {e(cm.get('cpu_flags', ''))} {e(cm.get('opt', ''))}: {total:,}
instructions per inference in QEMU (mps2-an386, -icount). <span class="est">Instructions, not cycles: a
lower bound on the cycles of a real Cortex-M4 at {result.device.clock_mhz:g} MHz,
{total / (result.device.clock_mhz * 1e3):.2f} ms or more.</span></p>
<figure>{target_profile_chart(layers)}</figure>
<table><tr><th>layer</th><th>op</th><th>MACs</th><th>instructions</th><th>per MAC</th><th>share</th></tr>
{rows}</table>"""


def render_html(result: Result) -> str:
    from pocketml.report.pareto import compression_section_html
    from pocketml.report.training import training_section_html

    e = html.escape
    d = result.device
    fit_cls = "ok" if result.fits else "bad"
    rows = "".join(
        f"<tr><td>{e(r.name)}</td><td>{e(r.kind)}</td><td>{'x'.join(map(str, r.out_shape))}</td>"
        f"<td>{r.macs:,}</td><td>{r.stored_bytes:,}</td><td>{r.float_bytes:,}</td></tr>" for r in result.layers)
    stages = "".join(f"<tr><td>{e(s.name)}</td><td>{s.seconds:.2f} s</td></tr>" for s in result.stages)
    s = result.size_bytes
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>pocketml: {e(result.model)} on {e(d.name)}</title><style>{CSS}</style></head><body>
<h1>{e(result.model)} → {e(d.name)}</h1>
<p>{e(d.mcu)}, {e(d.core)} at {d.clock_mhz:g} MHz, {d.sram_bytes:,} B SRAM, {d.flash_bytes:,} B flash.</p>
<p class="{fit_cls}"><b>{'Fits' if result.fits else 'Does not fit'}</b>: {e(result.fit_reason)}</p>
<table><tr><th>measure</th><th>value</th></tr>
<tr><td>test samples</td><td>{result.n_test}</td></tr>
<tr><td>accuracy float32 / int8 / C</td><td>{_accuracies(result)}</td></tr>
<tr><td>samples where C differs from the int8 reference</td><td>{result.c_mismatches}</td></tr>
<tr><td>weights + biases float32 → int8</td><td>{s.float32:,} → {s.int8:,} B ({s.float32 / s.int8:.2f}x)</td></tr>
<tr><td>arena / RAM / flash (measured)</td>
<td>{result.arena_bytes:,} / {result.ram_bytes:,} / {result.flash_bytes:,} B</td></tr>
<tr><td>MACs per inference</td><td>{result.macs:,}</td></tr>
<tr><td class="est">latency, estimate (one per model: method below)</td>
<td class="est">{result.cost.latency_ms:.3f} ms</td></tr>
<tr><td class="est">energy per inference, estimate</td><td class="est">{result.cost.energy_uj:.2f} µJ</td></tr>
</table>
<p class="est">Estimates: {e(result.cost.method)}. Flash: {e(result.flash_method)}.</p>
<h2>Accuracy</h2><figure>{accuracy_chart(result)}</figure>
<h2>Bytes per layer</h2><figure>{layer_bytes_chart(result)}</figure>
<table><tr><th>layer</th><th>op</th><th>output</th><th>MACs</th><th>int8 bytes</th><th>float32 bytes</th></tr>
{rows}</table>
<h2>Memory plan over time</h2><figure>{memory_plan_chart(result)}</figure>
{_target_section(result)}
{_energy_section(result)}
{compression_section_html(result.to_json()) if result.compression is not None else ""}
{training_section_html(result.training.to_dict()) if result.training is not None else ""}
<h2>Stages</h2><table><tr><th>stage</th><th>time</th></tr>{stages}</table>
</body></html>
"""


def _accuracies(result: Result) -> str:
    a = result.accuracy
    return " / ".join("n/a" if v is None else f"{v:.2%}" for v in (a.float32, a.int8, a.c))


def _energy_section(result: Result) -> str:
    """The energy budget section of the result (the same estimate as the summary); empty without one."""
    if result.energy is None or result.energy.budget is None:
        return ""
    from pocketml.report.energy import energy_section_html

    return energy_section_html(result.energy.budget, result.energy.cascades)


def write_html(result: Result, path: str | Path) -> Path:
    """Write the page atomically (temporary file, then rename)."""
    return write_atomic(path, render_html(result))
