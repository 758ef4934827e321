"""The console's charts, drawn as inline SVG from stored data: usage, savings, gauges."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from markupsafe import Markup

from gateway.console.formatting import money_compact, percent
from gateway.console.svg import Svg
from gateway.console.usage_reader import Distribution

_LEFT, _RIGHT, _TOP, _BOTTOM = 56.0, 16.0, 40.0, 30.0


@dataclass(frozen=True)
class Marker:
    """A vertical line on a distribution chart: a percentile, the current or the proposed value."""

    value: float
    label: str
    kind: str
    """`percentile`, `current` or `proposed` (the stylesheet colours each)."""


@dataclass(frozen=True)
class Series:
    """One line of a time chart; values hold until the next point (a step line)."""

    name: str
    kind: str
    points: list[tuple[datetime, float]]


def _fractional_bucket(distribution: Distribution, value: float) -> float:
    starts, ends = distribution.starts, distribution.ends
    index = int(np.searchsorted(starts, value, side="right")) - 1
    index = min(max(index, 0), starts.size - 1)
    width = ends[index] - starts[index]
    inside = (value - starts[index]) / width if width > 0 else 0.0
    return index + min(max(inside, 0.0), 1.0)


def _empty(title: str, message: str) -> Markup:
    svg = Svg(640, 90, label=title, css_class="chart chart-empty")
    svg.text(320, 50, message, "chart-note", anchor="middle")
    return svg.render(message)


def distribution_chart(
    distribution: Distribution,
    *,
    title: str,
    markers: Sequence[Marker],
    label: Callable[[float], str],
) -> Markup:
    """Bars of the share of (weighted) samples per bucket, on the buckets' log-like axis."""
    if distribution.empty:
        return _empty(title, "No samples recorded yet")
    svg = Svg(640, 230, label=title, css_class="chart chart-distribution")
    nonzero = np.flatnonzero(distribution.shares)
    marked = [_fractional_bucket(distribution, m.value) for m in markers if m.value > 0]
    low = max(0, min([int(nonzero[0]), *(int(x) for x in marked)]) - 2)
    high = min(distribution.shares.size - 1, max([int(nonzero[-1]), *(int(x) for x in marked)]) + 2)
    span = high + 1 - low
    plot_w, plot_h = svg.width - _LEFT - _RIGHT, svg.height - _TOP - _BOTTOM
    top_share = float(distribution.shares[low : high + 1].max()) * 1.1

    def x_at(bucket: float) -> float:
        return _LEFT + (bucket - low) / span * plot_w

    baseline = _TOP + plot_h
    svg.line(_LEFT, baseline, _LEFT + plot_w, baseline, "axis")
    svg.line(_LEFT, _TOP, _LEFT, baseline, "axis")
    for share in (top_share / 2, top_share / 1.1):
        y = baseline - share / top_share * plot_h
        svg.line(_LEFT, y, _LEFT + plot_w, y, "grid")
        svg.text(_LEFT - 6, y + 4, percent(share, 1), "tick", anchor="end")
    for bucket in range(low, high + 1):
        share = float(distribution.shares[bucket])
        if share <= 0:
            continue
        height = share / top_share * plot_h
        start, end = float(distribution.starts[bucket]), float(distribution.ends[bucket])
        tip = f"{label(start)} to {label(end)}: {percent(share, 1)} of samples"
        svg.rect(
            x_at(bucket) + 0.5,
            baseline - height,
            plot_w / span - 1,
            height,
            css_class="bar",
            tip=tip,
        )
    step = max(1, span // 5)
    for bucket in range(low, high + 1, step):
        x = x_at(bucket)
        svg.line(x, baseline, x, baseline + 4, "axis")
        svg.text(
            x, baseline + 17, label(float(distribution.starts[bucket])), "tick", anchor="middle"
        )
    _draw_markers(svg, [(x_at(b), m) for b, m in zip(marked, markers, strict=False)], baseline)
    summary = ", ".join(f"{m.label} {label(m.value)}" for m in markers)
    return svg.render(summary)


def _draw_markers(svg: Svg, placed: list[tuple[float, Marker]], baseline: float) -> None:
    rows: list[float] = []
    for x, marker in sorted(placed, key=lambda item: item[0]):
        row = next((i for i, last in enumerate(rows) if x - last > 110), len(rows))
        if row == len(rows):
            rows.append(x)
        rows[row] = x
        y = 12 + (row % 3) * 11
        svg.line(x, y + 3, x, baseline, f"marker marker-{marker.kind}")
        # Labels near the right edge run leftwards so they are not cut off.
        right = x > svg.width - _RIGHT - 90
        svg.text(
            x - 3 if right else x + 3,
            y,
            marker.label,
            f"marker-label marker-{marker.kind}",
            anchor="end" if right else "start",
        )


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def time_chart(
    series: Sequence[Series],
    *,
    title: str,
    start: datetime,
    end: datetime,
    label: Callable[[float], str] = money_compact,
    empty_note: str = "Nothing to chart yet",
    time_format: str = "%d %b",
) -> Markup:
    """Step lines of values over time between `start` and `end`, with a legend."""
    values = [v for s in series for _, v in s.points]
    if not values or end <= start:
        return _empty(title, "Nothing to chart yet")
    if not any(values):
        return _empty(title, empty_note)
    svg = Svg(720, 260, label=title, css_class="chart chart-time")
    plot_w, plot_h = svg.width - _LEFT - _RIGHT - 20, svg.height - _TOP - _BOTTOM
    # Gridlines at round values: a round step, as many steps as the largest value needs.
    step = _nice_ceiling(max(values) * 1.05 / 4)
    ticks = max(1, math.ceil(max(values) * 1.05 / step))
    top = step * ticks
    baseline = _TOP + plot_h
    total_seconds = (end - start).total_seconds()

    def x_at(moment: datetime) -> float:
        return float(_LEFT + (moment - start).total_seconds() / total_seconds * plot_w)

    def y_at(value: float) -> float:
        return float(baseline - value / top * plot_h)

    for tick in range(ticks + 1):
        value = step * tick
        svg.line(_LEFT, y_at(value), _LEFT + plot_w, y_at(value), "grid" if tick else "axis")
        svg.text(_LEFT - 6, y_at(value) + 4, label(value), "tick", anchor="end")
    for tick in range(5):
        moment = start + (end - start) * tick / 4
        svg.text(x_at(moment), baseline + 17, moment.strftime(time_format), "tick", anchor="middle")
    legend_x = _LEFT
    for line in series:
        svg.rect(legend_x, 10, 12, 4, css_class=f"legend legend-{line.kind}")
        svg.text(legend_x + 16, 16, line.name, "legend-label")
        legend_x += 24 + 7 * len(line.name)
        steps: list[tuple[float, float]] = []
        for index, (moment, value) in enumerate(line.points):
            if index:
                steps.append((x_at(moment), steps[-1][1]))
            steps.append((x_at(moment), y_at(value)))
        if line.points:
            steps.append((x_at(end), y_at(line.points[-1][1])))
        svg.polyline(steps, f"series series-{line.kind}")
        if line.points:
            last = line.points[-1]
            svg.circle(x_at(end), y_at(last[1]), 3, f"dot series-{line.kind}", label(last[1]))
    summary = "; ".join(
        f"{s.name}: {label(s.points[-1][1]) if s.points else 'none'}" for s in series
    )
    return svg.render(summary)


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    label: Callable[[float], str],
    maximum: float | None = None,
) -> Markup:
    """Horizontal bars, one per item, against `maximum` (or the largest value)."""
    if not items:
        return _empty(title, "No figures")
    svg = Svg(640, 26 + 26 * len(items), label=title, css_class="chart chart-bars")
    top = maximum if maximum is not None else max(v for _, v in items) or 1.0
    left, width = 150.0, 400.0
    for row, (name, value) in enumerate(items):
        y = 14 + row * 26
        svg.text(left - 8, y + 13, name, "tick", anchor="end")
        svg.rect(left, y, width, 18, css_class="track")
        share = min(max(value / top, 0.0), 1.0)
        svg.rect(left, y, width * share, 18, css_class="bar", tip=f"{name}: {label(value)}")
        svg.text(left + width + 8, y + 13, label(value), "value")
    return svg.render("; ".join(f"{n}: {label(v)}" for n, v in items))


def scale_chart(steps: Sequence[str], selected: int, *, title: str) -> Markup:
    """A row of steps (such as interruption-frequency buckets) with one highlighted."""
    svg = Svg(640, 64, label=title, css_class="chart chart-scale")
    width = (svg.width - 20) / max(len(steps), 1)
    for index, name in enumerate(steps):
        kind = "step step-selected" if index == selected else "step"
        svg.rect(10 + index * width + 2, 8, width - 4, 28, css_class=kind, tip=name)
        svg.text(10 + index * width + width / 2, 27, name, "step-label", anchor="middle")
    chosen = steps[selected] if 0 <= selected < len(steps) else "unknown"
    svg.text(svg.width / 2, 56, f"Observed bucket: {chosen}", "chart-note", anchor="middle")
    return svg.render(f"{title}: {chosen}")
