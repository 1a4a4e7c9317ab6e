"""A small trend chart as SVG geometry, computed server-side (no script, readable as a table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 640
HEIGHT = 200
PAD_LEFT = 48
PAD_RIGHT = 16
PAD_TOP = 12
PAD_BOTTOM = 28


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its label, its points ``(x, y)`` in SVG units, and its dash pattern."""

    label: str
    points: str
    markers: list[tuple[float, float]]
    dash: str
    last_value: int


@dataclass(frozen=True, slots=True)
class TrendChart:
    width: int
    height: int
    series: list[Series]
    y_ticks: list[tuple[float, int]]
    x_labels: list[tuple[float, str]]
    baseline: float


DASHES = ("", "6 4", "2 3", "10 3 2 3")


def trend_chart(lines: dict[str, list[tuple[str, int]]], max_labels: int = 4) -> TrendChart | None:
    """Lines of ``(label, value)`` per run, oldest first, each scaled to one shared axis.

    Points are spread by run index, so each line's runs fill the width; lines differ
    by dash pattern too, so the chart reads without colour.
    """
    drawn = {name: points for name, points in lines.items() if points}
    if not drawn:
        return None
    top = max(max(v for _, v in points) for points in drawn.values())
    top = max(top, 1)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    baseline = float(PAD_TOP + plot_h)

    def y(value: int) -> float:
        return round(PAD_TOP + plot_h * (1 - value / top), 1)

    def x(index: int, count: int) -> float:
        return round(PAD_LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2), 1)

    series = []
    for number, (name, points) in enumerate(drawn.items()):
        markers = [(x(i, len(points)), y(v)) for i, (_, v) in enumerate(points)]
        coords = " ".join(f"{px},{py}" for px, py in markers)
        dash = DASHES[number % len(DASHES)]
        series.append(Series(name, coords, markers, dash, points[-1][1]))
    longest = max(drawn.values(), key=len)
    step = max(1, (len(longest) + max_labels - 1) // max_labels)
    x_labels = [
        (x(i, len(longest)), label) for i, (label, _) in enumerate(longest) if i % step == 0
    ]
    ticks = sorted({0, top // 2, top})
    return TrendChart(WIDTH, HEIGHT, series, [(y(t), t) for t in ticks], x_labels, baseline)


SPARK_WIDTH = 160
SPARK_HEIGHT = 32


@dataclass(frozen=True, slots=True)
class Sparkline:
    """A metric's stored history as one SVG polyline, scaled between its own low and high."""

    width: int
    height: int
    points: str
    low: float
    high: float
    count: int


def sparkline(history: list[list[Any]] | None) -> Sparkline | None:
    """``[[iso timestamp, value], ...]`` (oldest first) as a polyline; None below two values."""
    values = [float(v) for _, v in (history or []) if isinstance(v, int | float)]
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad = 2.0
    last = len(values) - 1
    coords = " ".join(
        f"{round(pad + (SPARK_WIDTH - 2 * pad) * i / last, 1)},"
        f"{round(pad + (SPARK_HEIGHT - 2 * pad) * (1 - (v - low) / span), 1)}"
        for i, v in enumerate(values)
    )
    return Sparkline(SPARK_WIDTH, SPARK_HEIGHT, coords, low, high, len(values))
