"""The Pareto front as a picture: accuracy against flash and against latency, chosen model starred."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pocketml.outputs import atomic_path

COLORS = {"cnn": "tab:blue", "dscnn": "tab:purple", "mlp": "tab:green", "tree": "tab:orange"}


def write_front_plot(result, path: Path) -> None:
    """Two panels (flash, latency) of every trained candidate; the front joined; written atomically."""
    trained = [c for c in result.candidates if c.status == "trained"]
    front = {c.number for c in result.front}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, (xkey, xlabel) in zip(axes, (("flash_bytes", "flash bytes (measured, host gcc -Os)"),
                                          ("latency_ms", "latency ms (estimate)")), strict=True):
        for family, color in COLORS.items():
            pts = [c for c in trained if c.arch.family == family]
            if not pts:
                continue
            ax.scatter([getattr(c.cost, xkey) for c in pts], [c.accuracy for c in pts], s=22, alpha=0.45,
                       color=color, label=family)
            on = sorted((c for c in pts if c.number in front), key=lambda c: getattr(c.cost, xkey))
            ax.scatter([getattr(c.cost, xkey) for c in on], [c.accuracy for c in on], s=50, color=color,
                       edgecolors="black", linewidths=0.8)
        chosen = result.chosen.candidate
        if chosen.cost is not None and chosen.accuracy is not None:
            ax.scatter([getattr(chosen.cost, xkey)], [chosen.accuracy], marker="*", s=260, color="gold",
                       edgecolors="black", label="chosen", zorder=5)
        limit = result.budget.flash_bytes if xkey == "flash_bytes" else result.budget.latency_ms
        if limit is not None:
            ax.axvline(limit, color="red", linestyle="--", linewidth=1, label="budget")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation accuracy (brief training)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"pocketml match: {result.task} on {result.device.id} "
                 f"(front outlined, {len(trained)} trained of {len(result.candidates)} candidates)")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.88, wspace=0.08)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
