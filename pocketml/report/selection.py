"""selection report.html: learning curves, removal curves and label-noise figures on one
self-contained page (inline SVG from matplotlib, no network), like the shrink report."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from pocketml.data.selection import CurveComparison, NoiseReport, RemovalCurve, Selection
from pocketml.outputs import write_atomic
from pocketml.report.html import CSS, plt
from pocketml.report.svg import figure_svg


def learning_curve_chart(comparison: CurveComparison) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    points = comparison.budgets
    for strategy in comparison.strategies:
        curves = [c for c in comparison.curves if c.strategy == strategy]
        ns = sorted(set.intersection(*(set(c.n_labels) for c in curves)))
        acc = np.array([[c.accuracy[c.n_labels.index(n)] for n in ns] for c in curves]) * 100
        mean, std = acc.mean(axis=0), acc.std(axis=0)
        style = "k--" if strategy == "random" else "-"
        (line,) = ax.plot(ns, mean, style, label=strategy, lw=1.5)
        ax.fill_between(ns, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    full = 100 * float(np.mean(comparison.full_accuracy))
    ax.axhline(full, color="gray", lw=1, label=f"all {comparison.pool_size} labels ({full:.1f}%)")
    ax.axhline(full - 1.0, color="gray", lw=1, ls=":", label="1 point below")
    for n in points:
        ax.axvline(n, color="#ddd", lw=0.8, zorder=0)
    ax.set_xlabel("labels used")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(max(0.0, full - 15), min(100.5, full + 3))
    ax.set_title(f"learning curves, mean ± std over {len(comparison.full_accuracy)} seed(s)")
    ax.legend(fontsize=7, loc="lower right")
    return figure_svg(fig)


def removal_chart(curve: RemovalCurve) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    xs = [100 * f for f in curve.fractions]
    ax.plot(xs, [100 * a for a in curve.high_first], "r.-", label="highest value removed first")
    ax.plot(xs, [100 * a for a in curve.low_first], "g.-", label="lowest value removed first")
    ax.plot(xs, [100 * a for a in curve.random], "k.--", label="random removal")
    ax.set_xlabel("training samples removed (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("removal curves (KNN-Shapley order)")
    ax.legend(fontsize=7)
    return figure_svg(fig)


def curve_table(comparison: CurveComparison) -> str:
    head = "".join(f"<th>{n} ({100 * n / comparison.pool_size:.0f}%)</th>" for n in comparison.budgets)
    rows = []
    for strategy in comparison.strategies:
        accs = [100 * comparison.at(strategy, n) for n in comparison.budgets]
        cells = "".join(f"<td>{a.mean():.2f} ± {a.std():.2f}</td>" for a in accs)
        rows.append(f"<tr><td>{html.escape(strategy)}</td>{cells}</tr>")
    return f"<table><tr><th>strategy \\ labels</th>{head}</tr>{''.join(rows)}</table>"


def render_selection_html(*, title: str = "pocketml select", selection: Selection | None = None,
                          comparison: CurveComparison | None = None, removal: RemovalCurve | None = None,
                          noise: NoiseReport | None = None, notes: tuple[str, ...] = ()) -> str:
    e = html.escape
    parts = [f"<h1>{e(title)}</h1>", *(f"<p>{e(n)}</p>" for n in notes)]
    if selection is not None:
        f = selection.figures()
        budget = "none" if f["budget_bytes"] is None else f"{f['budget_bytes']:,} B"
        parts.append(
            "<h2>Selection</h2><table><tr><th>measure</th><th>value</th></tr>"
            f"<tr><td>strategy</td><td>{e(f['strategy'])}</td></tr>"
            f"<tr><td>kept / pool</td><td>{f['n_selected']:,} / {f['n_pool']:,} ({100 * f['fraction']:.1f}%)</td></tr>"
            f"<tr><td>bytes per sample / stored / budget</td><td>{f['sample_bytes']:,} / "
            f"{f['stored_bytes']:,} / {budget}</td></tr>"
            f"<tr><td>suspects dropped first</td><td>{f['n_dropped_suspects']}</td></tr></table>")
    if comparison is not None:
        parts.append(f"<h2>Learning curves</h2><p>Learner: {e(comparison.learner)}, retrained after every "
                     f"labelled batch; accuracy on the test split (%, mean ± std over seeds).</p>"
                     f"<figure>{learning_curve_chart(comparison)}</figure>{curve_table(comparison)}")
    if removal is not None:
        parts.append(f"<h2>Data valuation</h2><figure>{removal_chart(removal)}</figure>")
    if noise is not None:
        rows = [("suspects (" + noise.method + ")", len(noise.suspects)), ("cleanlab flags", len(noise.cleanlab)),
                ("negative KNN-Shapley", len(noise.negative_shapley)),
                ("cleanlab ∩ as many lowest-Shapley", noise.overlap)]
        table = "".join(f"<tr><td>{e(name)}</td><td>{n}</td></tr>" for name, n in rows)
        if noise.precision is not None:
            table += "".join(f"<tr><td>precision / recall: {e(k)}</td><td>{noise.precision[k]:.3f} / "
                             f"{noise.recall[k]:.3f}</td></tr>" for k in noise.precision)
        parts.append(f"<h2>Label noise</h2><table><tr><th>set</th><th>samples</th></tr>{table}</table>")
    body = "\n".join(parts)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def write_selection_html(path: str | Path, **parts) -> Path:
    """Write the page atomically (temporary file, then rename); ``parts`` as ``render_selection_html``."""
    return write_atomic(path, render_selection_html(**parts))
