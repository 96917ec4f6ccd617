"""Plots of the energy budget (matplotlib, returned as SVG text for self-contained pages)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pocketml.energy.budget import EnergyBudget  # noqa: E402
from pocketml.energy.cascade import CascadePoint  # noqa: E402
from pocketml.energy.storage import SECONDS_PER_DAY  # noqa: E402


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def daily_budget_svg(budget: EnergyBudget) -> str:
    """Stacked bar of the daily need (inference, radio, sleep) beside each harvester's daily income."""
    per_day = budget.rate_hz * SECONDS_PER_DAY
    inference = budget.joules_per_inference * per_day
    radio = budget.joules_per_message * per_day + budget.radio_idle_watts * SECONDS_PER_DAY
    sleep = budget.daily_joules - inference - radio
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(["need"], [inference], label="inference")
    ax.bar(["need"], [radio], bottom=[inference], label=f"radio ({budget.radio})")
    ax.bar(["need"], [sleep], bottom=[inference + radio], label="sleep")
    names = [h["harvester"] for h in budget.harvest]
    ax.bar(names, [h["joules_per_day"] for h in budget.harvest], color="#8c8", label="harvest (income)")
    ax.axhline(budget.daily_joules, color="k", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_ylabel("J per day (log)")
    ax.set_title(f"daily energy budget at {per_day:.0f} inferences/day (estimate)")
    ax.legend(fontsize=7)
    return _svg(fig)


def cascade_svg(points: list[CascadePoint], chosen: CascadePoint | None = None) -> str:
    """Energy per inference against accuracy for every threshold, with the two extremes marked."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    casc = [p for p in points if p.label != "all offloaded"]
    ax.plot([p.joules_per_inference * 1e3 for p in casc], [p.accuracy for p in casc], "o-", ms=3,
            label="cascade (threshold 0 = all local)")
    for p, m in ((points[0], "s"), (points[-1], "^")):
        ax.plot([p.joules_per_inference * 1e3], [p.accuracy], m, ms=8, label=p.label)
    if chosen is not None:
        ax.plot([chosen.joules_per_inference * 1e3], [chosen.accuracy], "r*", ms=12,
                label="chosen: " + (chosen.label if chosen.threshold is None else f"threshold {chosen.threshold:.2f}"))
    ax.set_xscale("log")
    ax.set_xlabel("mJ per inference (log, estimate)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    return _svg(fig)
