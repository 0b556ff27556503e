"""Plots with matplotlib, as SVG or PNG bytes (a bare ``Figure``: no pyplot, no display): cost histories
(one line per run, cost against epoch, as the course compares gd, momentum and Adam) and a model's
decision boundary (``core.boundary``).

Cost curves that coincide (gd and momentum at the course's learning rate) still show: each line has its
own marker, placed at staggered points, and the line style changes with every ten colours.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from matplotlib.figure import Figure

from core.boundary import Boundary

PlotFormat = Literal["svg", "png"]
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "x", "P", "*")


def cost_plot(
    series: Mapping[str, Sequence[tuple[int, float]]],
    *,
    title: str = "Cost per epoch",
    log_scale: bool = False,
    fmt: PlotFormat = "svg",
) -> bytes:
    """Draw each ``label -> [(epoch, cost), ...]`` as a line and return the image bytes in ``fmt``."""
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for index, (label, points) in enumerate(series.items()):
        epochs = [epoch for epoch, _ in points]
        costs = [cost for _, cost in points]
        style = LINE_STYLES[index // 10 % len(LINE_STYLES)]  # matplotlib cycles ten colours
        marker = MARKERS[index % len(MARKERS)]
        every = max(1, len(points) // 12)
        axes.plot(
            epochs, costs, style, label=label, linewidth=1.4, marker=marker, markevery=(index % every, every)
        )
    axes.set_xlabel("epoch")
    axes.set_ylabel("cost (mean binary cross-entropy)")
    axes.set_title(title)
    if log_scale:
        axes.set_yscale("log")
    axes.grid(alpha=0.3)
    if series:
        axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()


def boundary_plot(boundary: Boundary, *, title: str = "Decision boundary", fmt: PlotFormat = "svg") -> bytes:
    """The course's ``plot_decision_boundary``: the predicted label's regions filled, the points over
    them coloured by their label (one Spectral colormap for both), as image bytes in ``fmt``."""
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    axes = figure.add_subplot()
    labels = (boundary.probabilities > 0.5).astype(np.float64)
    axes.contourf(
        boundary.x, boundary.y, labels, levels=[-0.5, 0.5, 1.5], cmap="Spectral", vmin=0, vmax=1, alpha=0.55
    )
    axes.scatter(
        boundary.points[0],
        boundary.points[1],
        c=boundary.labels,
        cmap="Spectral",
        vmin=0,
        vmax=1,
        s=16,
        edgecolors="black",
        linewidths=0.4,
    )
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()
