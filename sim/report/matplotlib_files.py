"""Shared matplotlib set-up for figures written as reproducible SVG and PNG bytes.

Matplotlib stamps a creation date and random element ids into SVG, and its version into PNG
metadata; both are pinned here so that the same data always gives byte-identical files.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: never open a window, work without a display

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

matplotlib.rcParams["svg.hashsalt"] = "bleedsim"
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable SVG

PNG_DPI = 110


def new_figure(width: float, height: float) -> Any:
    """A figure of ``width`` x ``height`` inches; :func:`svg_and_png` closes it."""
    return plt.figure(figsize=(width, height))


def svg_and_png(figure: Any) -> tuple[str, bytes]:
    svg = io.StringIO()
    figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    plt.close(figure)
    return svg.getvalue(), png.getvalue()
