"""A `minReplicas` schedule for an HPA: the floor per window of a repeating UTC day or week.

Clusters without KEDA get scheduled scaling from the executor: an approved schedule is stored on
the HPA as an annotation, and the executor sets `spec.minReplicas` to the schedule's value at
every boundary. Offsets count from the Unix epoch modulo the period, so a weekly offset 0 is a
Thursday 00:00 UTC.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from protocol.base import WireModel

DAY_SECONDS: Literal[86_400] = 86_400
WEEK_SECONDS: Literal[604_800] = 604_800
MIN_REPLICAS_SCHEDULE_ANNOTATION = "autoscaling.slicewise.io/min-replicas-schedule"
"""The HPA annotation that holds the schedule (JSON) the executor keeps in force."""


class MinReplicasWindow(WireModel):
    """`min_replicas` from `start_seconds` to `end_seconds` into the period."""

    start_seconds: Annotated[int, Field(ge=0, lt=WEEK_SECONDS)]
    end_seconds: Annotated[int, Field(gt=0, le=WEEK_SECONDS)]
    min_replicas: Annotated[int, Field(ge=1, le=10_000)]


class MinReplicasSchedule(WireModel):
    """The floor over a repeating period: `baseline` outside every window."""

    period_seconds: Literal[86_400, 604_800]
    baseline: Annotated[int, Field(ge=1, le=10_000)]
    windows: Annotated[list[MinReplicasWindow], Field(max_length=168)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _windows_fit_and_do_not_overlap(self) -> MinReplicasSchedule:
        last_end = 0
        for window in sorted(self.windows, key=lambda w: w.start_seconds):
            if window.end_seconds <= window.start_seconds:
                raise ValueError("a window must end after it starts")
            if window.end_seconds > self.period_seconds:
                raise ValueError("a window must end within the period")
            if window.start_seconds < last_end:
                raise ValueError("windows must not overlap")
            last_end = window.end_seconds
        return self

    def min_replicas_at(self, unix_seconds: float) -> int:
        """The floor in force at `unix_seconds`."""
        offset = unix_seconds % self.period_seconds
        for window in self.windows:
            if window.start_seconds <= offset < window.end_seconds:
                return window.min_replicas
        return self.baseline

    def next_boundary(self, unix_seconds: float) -> float:
        """The first instant after `unix_seconds` at which a window starts or ends."""
        period = self.period_seconds
        cycle = math.floor(unix_seconds / period) * period
        edges = sorted({e for w in self.windows for e in (w.start_seconds, w.end_seconds)})
        for base in (cycle, cycle + period):
            for edge in edges:
                if base + edge > unix_seconds:
                    return float(base + edge)
        return float(cycle + 2 * period)
