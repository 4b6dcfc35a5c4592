"""The sensitivity bar chart: each field's Sobol first-order and total index with its
bootstrap 95% interval as an error bar."""

from __future__ import annotations

import numpy as np

from sim.report.matplotlib_files import new_figure, svg_and_png


def render(indices: dict[str, dict[str, float]], title: str) -> tuple[str, bytes]:
    names = list(indices)
    y = np.arange(len(names))
    figure = new_figure(6.4, 1.2 + 0.6 * len(names))
    ax = figure.subplots()
    for offset, index, colour in ((-0.18, "S1", "C0"), (0.18, "ST", "C1")):
        values = np.array([indices[n][index] for n in names])
        low = np.array([indices[n][f"{index}_low"] for n in names])
        high = np.array([indices[n][f"{index}_high"] for n in names])
        ax.barh(y + offset, values, height=0.34, color=colour,
                label="first order (S1)" if index == "S1" else "total (ST)",
                xerr=[values - low, high - values], capsize=3)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("Sobol index (bars: 95% bootstrap interval)")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=8)
    figure.tight_layout()
    return svg_and_png(figure)
