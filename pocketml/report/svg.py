"""One matplotlib figure → inline SVG text, for self-contained HTML pages (no files, no network)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def figure_svg(fig) -> str:
    """Render ``fig`` as an ``<svg>`` element (no date metadata, so pages are reproducible) and close it."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]
