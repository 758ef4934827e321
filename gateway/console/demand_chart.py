"""Autoscaling evidence drawn over a day: demand against proposed capacity, and replicas.

The recommender writes hourly points (`start`, `step_seconds`, `demand`, `current_replicas`,
`proposed_replicas`, `proposed_capacity`) and the `unit` demand counts (cores when absent);
anything else is left to the generic evidence view.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup

from gateway.console.charts import Series, time_chart
from gateway.console.formatting import cores

DAY_CHART_KEYS = frozenset(
    {
        "start",
        "step_seconds",
        "demand",
        "current_replicas",
        "proposed_replicas",
        "proposed_capacity",
    }
)


def is_day_chart(value: Any) -> bool:
    """Whether an evidence value has the day chart's shape."""
    return isinstance(value, Mapping) and set(value) >= DAY_CHART_KEYS


def _points(start: datetime, step: timedelta, values: Any) -> list[tuple[datetime, float]]:
    return [
        (start + step * index, float(value))
        for index, value in enumerate(values)
        if isinstance(value, int | float)
    ]


def _replicas(value: float) -> str:
    return f"{value:g}"


def _gpus(value: float) -> str:
    return f"{value:.3g} GPUs"


def day_charts(value: Mapping[str, Any]) -> list[Markup]:
    """Demand with the proposed capacity (in its unit), then current and proposed replicas."""
    unit = str(value.get("unit", "cores"))
    start = datetime.fromtimestamp(float(value["start"]), UTC)
    step = timedelta(seconds=float(value["step_seconds"]))
    end = start + step * len(value["demand"])
    capacity = time_chart(
        [
            Series("demand", "demand", _points(start, step, value["demand"])),
            Series(
                "proposed capacity", "proposed", _points(start, step, value["proposed_capacity"])
            ),
        ],
        title=f"Demand and proposed capacity over the last day ({unit})",
        start=start,
        end=end,
        label=_gpus if unit == "GPUs" else cores,
        time_format="%H:%M",
    )
    replicas = time_chart(
        [
            Series("current", "current", _points(start, step, value["current_replicas"])),
            Series("proposed", "proposed", _points(start, step, value["proposed_replicas"])),
        ],
        title="Replicas over the last day",
        start=start,
        end=end,
        label=_replicas,
        time_format="%H:%M",
    )
    return [capacity, replicas]
