"""wildfire.html: one self-contained page (inline SVG, no network), like a utility's event map.

* a table of the scores per season and method;
* the region's cells over the held-out season (rows = cells sorted by terrain exposure, columns =
  hours): fire weather covered by a shutoff, missed, and unnecessary shutoffs, for our per-cell
  decisions and for the regional baseline;
* maps of the region at the worst hour: fire weather, our shutoffs, the baseline's;
* one cell's timeline: wind, gusts, RH, fire weather, the forecast probability, and the three
  methods' shutoff windows.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from pocketml.outputs import write_atomic
from pocketml.report.svg import figure_svg  # noqa: E402

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.est{color:#666;font-style:italic}"""
STATE_COLOURS = ListedColormap(["#ffffff", "#b2182b", "#111111", "#f4a582"])  # none, covered, missed, unnecessary


def _states(shut: np.ndarray, hazard: np.ndarray) -> np.ndarray:
    return np.where(hazard & shut, 1, np.where(hazard, 2, np.where(shut, 3, 0)))


def region_over_time(run, season: str = "A") -> str:
    fc = run.forecasts[season]
    order = np.argsort(fc.region.exposure)[::-1]
    fig, axes = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    for ax, method in zip(axes, ("ours", "regional"), strict=True):
        d = run.seasons[season][method]
        ax.imshow(
            _states(d.shut, fc.target)[:, order].T,
            aspect="auto",
            interpolation="nearest",
            cmap=STATE_COLOURS,
            vmin=0,
            vmax=3,
        )
        ax.set_ylabel("cells (most exposed on top)")
        s = d.score
        ax.set_title(
            f"{method}: recall {s.recall:.3f}, unnecessary {s.unnecessary_cell_hours:,} cell-h, "
            f"premature restorations {s.premature_restorations}",
            fontsize=10,
        )
    days = np.arange(0, len(fc.origins), 24 * 14)
    axes[1].set_xticks(days, [str(fc.region.times[fc.origins[i] + 1])[:10] for i in days])
    axes[1].set_xlabel(
        "hour of the held-out season (red: fire weather de-energized, black: missed, orange: unnecessary shutoff)"
    )
    return figure_svg(fig)


def worst_hour_maps(run, season: str = "A") -> str:
    fc = run.forecasts[season]
    k = int(fc.target.sum(1).argmax())
    r = fc.region
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    panels = [
        ("fire weather", fc.target[k]),
        ("our shutoffs", run.seasons[season]["ours"].shut[k]),
        ("regional baseline's shutoffs", run.seasons[season]["regional"].shut[k]),
    ]
    for ax, (title, grid) in zip(axes, panels, strict=True):
        ax.imshow(grid.reshape(r.rows, r.cols), cmap=ListedColormap(["#e8f0e8", "#b2182b"]), vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{str(r.times[fc.origins[k] + 1])}: each square is a 1-mi² cell (north up)", fontsize=10)
    return figure_svg(fig)


def cell_timeline(run, season: str = "A") -> tuple[str, int]:
    fc = run.forecasts[season]
    cell = int(fc.target.sum(0).argmax())
    start_at = int(np.flatnonzero(fc.target[:, cell])[0])
    lo, hi = max(0, start_at - 72), min(len(fc.origins), start_at + 168)
    hours = np.arange(lo, hi)
    idx = fc.origins[hours] + 1
    r = fc.region
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ax.plot(hours, r.wind_speed[idx, cell], label="wind (m/s)")
    ax.plot(hours, r.gust[idx, cell], label="gust (m/s)", alpha=0.7)
    ax.plot(hours, r.relative_humidity[idx, cell] / 5, label="RH / 5 (%)", color="g")
    ax.fill_between(
        hours,
        0,
        np.where(fc.target[hours, cell], ax.get_ylim()[1], 0),
        color="#b2182b",
        alpha=0.15,
        step="mid",
        label="fire weather",
    )
    ax.legend(fontsize=8, ncol=4)
    ax.set_title(
        f"cell {cell} (row {cell // r.cols}, column {cell % r.cols}, exposure {r.exposure[cell]:.2f})", fontsize=10
    )
    ax2.plot(hours, fc.prob[hours, cell, 0], label="forecast P(fire weather), 1 h ahead", color="k")
    ax2.plot(hours, fc.prob[hours, cell, 11], label="12 h ahead", color="k", ls=":")
    rows = [(1.15, "ours", "#2166ac"), (1.3, "regional", "#f4a582"), (1.45, "persistence", "#999999")]
    if "ours-any-hour" in run.seasons[season]:
        rows.append((1.6, "ours-any-hour", "#92c5de"))
    for y, method, colour in rows:
        shut = run.seasons[season][method].shut[hours, cell]
        ax2.fill_between(hours, y - 0.05, y + 0.05, where=shut, color=colour, step="mid", label=f"{method} shutoff")
    ax2.set_ylim(0, 1.7)
    ax2.legend(fontsize=8, ncol=3, loc="center left")
    ax2.set_xlabel("hour of the held-out season")
    return figure_svg(fig), cell


def write_html(run, path: str | Path) -> Path:
    rows = []
    for season, methods in run.seasons.items():
        for m, d in methods.items():
            s = d.score
            rows.append(
                f"<tr><td>{season}</td><td>{m}</td><td>{s.recall:.3f}</td><td>{s.unnecessary_cell_hours:,}</td>"
                f"<td>{s.csi:.3f}</td><td>{s.premature_restorations}</td><td>{s.notice_median_hours:.0f}</td></tr>"
            )
    c = run.cell
    timeline, cell = cell_timeline(run)
    body = f"""<h1>Wildfire PSPS: per-cell shutoffs</h1>
<p>Region seed {run.settings.seed} (A) and {run.settings.test_seed} (B, never seen in training); held-out season
{html.escape(" to ".join(run.settings.spans.test))}. Rule settings chosen on A's validation season; power is
restored only between {run.settings.restore_hours[0]:02d}:00 and {run.settings.restore_hours[1]:02d}:00 local time
(after daylight line patrols), except in the <i>ours-any-hour</i> row. Regional model:
{html.escape(str(run.regional_training["model"]["trained_by"]))}; <i>ours-central</i> uses the same network trained
centrally on the same samples.</p>
<table><tr><th>season</th><th>method</th><th>recall</th><th>unnecessary cell-h</th><th>CSI</th>
<th>premature restorations</th><th>median notice h</th></tr>{"".join(rows)}</table>
<p>Cell model on {html.escape(c.device)}: flash {c.flash_bytes:,} B, RAM {c.ram_bytes:,} B,
C mismatches {c.c_mismatches}
of {c.n_test}; {html.escape(c.fit_reason)}. <span class="est">Energy per 48-h forecast
{c.energy_uj_per_forecast:.1f} µJ and latency {c.latency_ms_per_forecast:.2f} ms are cost-model estimates.</span></p>
<h2>The region over the held-out season (A)</h2>{region_over_time(run)}
<h2>The worst hour</h2>{worst_hour_maps(run)}
<h2>One cell (cell {cell})</h2>{timeline}"""
    head = f"<meta charset='utf-8'><title>pocketml wildfire</title><style>{CSS}</style>"
    page = f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
    return write_atomic(path, page)
