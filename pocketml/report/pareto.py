"""Accuracy against deployed bytes as an inline SVG, with the Pareto front drawn through it.

Used by ``report.html`` (one point per compression stage of the run: the stages' own before/after
figures) and by ``bench/compress.py`` (one point per recipe and seed). Self-contained: no scripts.
"""

from __future__ import annotations

import math
from html import escape


def pareto_front(points: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Points not beaten by another with fewer (or equal) bytes and higher (or equal) accuracy."""
    front, best = [], -math.inf
    for p in sorted(points, key=lambda p: (p[1], -p[2])):
        if p[2] > best:
            front.append(p)
            best = p[2]
    return front


def pareto_svg(points: list[tuple[str, float, float]], title: str = "accuracy vs deployed bytes",
               width: int = 640, height: int = 360) -> str:
    """``points``: (label, bytes, accuracy). Bytes on a log axis; the front as a step line."""
    if not points:
        return ""
    m = 56
    xs = [math.log10(max(p[1], 1)) for p in points]
    ys = [p[2] for p in points]
    x0, x1 = min(xs) - 0.05, max(xs) + 0.05
    y0, y1 = min(ys) - 0.01, min(1.0, max(ys) + 0.01)
    if y1 <= y0:
        y1 = y0 + 0.01

    def px(b: float) -> float:
        return m + (math.log10(max(b, 1)) - x0) / (x1 - x0) * (width - 2 * m)

    def py(a: float) -> float:
        return height - m - (a - y0) / (y1 - y0) * (height - 2 * m)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title)}" style="font:11px sans-serif">',
           f'<text x="{width / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{m}" y1="{height - m}" x2="{width - m}" y2="{height - m}" stroke="#333"/>',
           f'<line x1="{m}" y1="{m}" x2="{m}" y2="{height - m}" stroke="#333"/>',
           f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">deployed bytes (log scale)</text>',
           f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" '
           'text-anchor="middle">accuracy</text>']
    for e in range(math.floor(x0), math.ceil(x1) + 1):
        for k in (1, 2, 5):
            b = k * 10 ** e
            if x0 <= math.log10(b) <= x1:
                out.append(f'<text x="{px(b):.1f}" y="{height - m + 14}" text-anchor="middle">{b:,}</text>')
    for i in range(5):
        a = y0 + i * (y1 - y0) / 4
        out.append(f'<text x="{m - 4}" y="{py(a) + 4:.1f}" text-anchor="end">{a:.3f}</text>')
    front = pareto_front(points)
    path = " ".join(f"{'M' if i == 0 else 'L'}{px(p[1]):.1f},{py(p[2]):.1f}" for i, p in enumerate(front))
    out.append(f'<path d="{path}" fill="none" stroke="#d62728" stroke-width="1.5"/>')
    on_front = {id(p) for p in front}
    for p in points:
        colour = "#d62728" if id(p) in on_front else "#1f77b4"
        out.append(f'<circle cx="{px(p[1]):.1f}" cy="{py(p[2]):.1f}" r="4" fill="{colour}">'
                   f'<title>{escape(p[0])}: {int(p[1]):,} B, {p[2]:.4f}</title></circle>')
    for p in front:
        out.append(f'<text x="{px(p[1]) + 6:.1f}" y="{py(p[2]) - 6:.1f}">{escape(p[0])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def stage_points(result_json: dict) -> list[tuple[str, float, float]]:
    """Points of one shrink run: float32, then the integer accuracy and stored bytes after each stage."""
    pts = [("float32", result_json["size_bytes"]["float32"], result_json["accuracy"]["float"])]
    for st in result_json.get("stages", []):
        if "bytes_after" in st and "accuracy_int_after" in st:
            pts.append((st["name"], st["bytes_after"], st["accuracy_int_after"]))
    if "deployed" in result_json["size_bytes"]:
        pts.append(("deployed C", result_json["size_bytes"]["deployed"], result_json["accuracy"]["c"]))
    return pts


def compression_section_html(result_json: dict) -> str:
    """The report's compression section: the Pareto plot of this run's stages, a stage table, notes."""
    comp = result_json.get("compression")
    if not comp:
        return ""
    rows = []
    for st in result_json.get("stages", []):
        if "bytes_after" not in st:
            continue
        rows.append(f"<tr><td>{escape(st.get('stage', st['name']))}</td><td>{st['accuracy_int_before']:.4f} → "
                    f"{st['accuracy_int_after']:.4f}</td><td>{st['bytes_before']:,} → {st['bytes_after']:,}</td>"
                    f"<td>{st['macs_before']:,} → {st['macs_after']:,}</td>"
                    f"<td>{st['ram_before']:,} → {st['ram_after']:,}</td></tr>")
    weights = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v['format'])}</td><td>{v['bits']}</td>"
                      f"<td>{v['count']:,}</td>"
                      f"<td>{v['bytes']:,}</td></tr>" for k, v in comp.get("weights", {}).items())
    notes = "".join(f"<li>{escape(n)}</li>" for n in comp.get("notes", []))
    return (f"<h2>Compression: {escape(comp['recipe'])}</h2><p>{escape(comp['stages'])}; deployed "
            f"{result_json['size_bytes']['deployed']:,} B (every byte the emitted C stores: weights, indices, "
            f"tables, decoder code) vs float32 {result_json['size_bytes']['float32']:,} B.</p>"
            f"<figure>{pareto_svg(stage_points(result_json), 'accuracy vs stored bytes, stage by stage')}</figure>"
            "<table><tr><th>stage</th><th>int accuracy</th><th>stored bytes</th><th>MACs</th><th>RAM B</th></tr>"
            f"{''.join(rows)}</table>"
            + ("<table><tr><th>layer</th><th>weight format</th><th>bits</th><th>weights</th><th>bytes</th></tr>"
               f"{weights}</table>" if weights else "")
            + (f"<ul>{notes}</ul>" if notes else ""))
