"""A schedule drawn as a step chart: an inline SVG built on the server (no JavaScript library)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 480, 160, 44, 20, 8


@dataclasses.dataclass(frozen=True)
class StepChart:
    """What the template draws: the polyline's points and the axis labels, in SVG user units."""

    width: int
    height: int
    points: str
    peak: float
    unit: str
    seconds: int
    #: (x, label) of the period starts, at most a few.
    x_ticks: tuple[tuple[float, str], ...]
    #: The y of the peak's line.
    peak_y: float
    baseline_y: float
    left: int


def _label(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}" if hours else f"{rest // 60}m"


def step_chart(periods: Sequence[dict[str, Any]], *, duration: int | None, unit: str) -> StepChart | None:
    """``chargingSchedulePeriod`` (startPeriod ascending) over ``duration`` seconds (None: the last period
    lasts as long as the others together, at least an hour). None when there is nothing to draw."""
    steps = sorted(
        ((int(p["startPeriod"]), float(p["limit"])) for p in periods if p.get("startPeriod") is not None),
        key=lambda step: step[0],
    )
    if not steps:
        return None
    last_start = steps[-1][0]
    seconds = duration if duration and duration > last_start else max(last_start * 2, last_start + 3600)
    peak = max(limit for _, limit in steps) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - TOP - BOTTOM

    def x(second: float) -> float:
        return round(LEFT + plot_w * second / seconds, 1)

    def y(limit: float) -> float:
        return round(TOP + plot_h * (1 - limit / peak), 1)

    points: list[str] = []
    for index, (start, limit) in enumerate(steps):
        end = steps[index + 1][0] if index + 1 < len(steps) else seconds
        points += [f"{x(start)},{y(limit)}", f"{x(min(end, seconds))},{y(limit)}"]
    shown = steps if len(steps) <= 6 else steps[:: max(1, len(steps) // 6)]
    ticks = tuple((x(start), _label(start)) for start, _ in shown) + ((x(seconds), _label(seconds)),)
    return StepChart(
        width=WIDTH,
        height=HEIGHT,
        points=" ".join(points),
        peak=peak,
        unit=unit,
        seconds=seconds,
        x_ticks=ticks,
        peak_y=y(peak),
        baseline_y=y(0),
        left=LEFT,
    )
