"""The Kubernetes HPA control loop as documented, replayed over a demand series.

Per sync period (15 s) the controller reads the metric, computes
`desired = ceil(current * currentMetric / target)` unless the ratio is within the tolerance (0.1)
of 1, clamps to [minReplicas, maxReplicas], keeps the highest recommendation of the last five
minutes before scaling down (scale-down stabilisation), and limits scale-up to the default
policies (double, or add four pods, per 15 s, whichever is more). A replica below `minReplicas`
is raised at once, which is how a `minReplicas` schedule acts. The metric lags demand by the
metrics pipeline's resolution; new pods serve only after a start-up delay.

The same replay scores our advice and the baselines, in the bench and in the saving shown with
a recommendation.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.autoscaling.demand import DemandSeries


@dataclass(frozen=True, slots=True)
class HpaSettings:
    """An HPA's spec plus the cluster timings that shape its response."""

    target_utilisation: float
    """Target utilisation of a replica's capacity, 0..1."""
    min_replicas: int = 1
    max_replicas: int = 100
    tolerance: float = 0.1
    scale_down_stabilisation_seconds: float = 300.0
    sync_period_seconds: float = 15.0
    metric_lag_seconds: float = 60.0
    """metrics-server's default resolution."""
    startup_seconds: float = 60.0
    """From scale-up until a new pod serves."""


class _ScaleDownWindow:
    """The highest recommendation of the stabilisation window, as a monotonic queue."""

    def __init__(self, ticks: int) -> None:
        self._ticks = ticks
        self._entries: deque[tuple[int, int]] = deque()

    def record(self, tick: int, recommendation: int) -> None:
        """Add a recommendation made at `tick` and forget those older than the window."""
        while self._entries and self._entries[-1][1] <= recommendation:
            self._entries.pop()
        self._entries.append((tick, recommendation))
        # The newest recommendation always counts, even with a zero-length window.
        while len(self._entries) > 1 and self._entries[0][0] <= tick - self._ticks:
            self._entries.popleft()

    def highest(self) -> int:
        """The highest recommendation still in the window."""
        return self._entries[0][1]

    def expiry(self) -> int:
        """The first tick at which the highest recommendation has left the window."""
        return self._entries[0][0] + self._ticks


@dataclass(frozen=True, slots=True)
class Replay:
    """Replicas per sync tick: those paid for and those serving."""

    tick_seconds: float
    replicas: NDArray[np.int64]
    ready: NDArray[np.int64]


def desired_replicas(current: int, metric: float, target: float, tolerance: float) -> int:
    """The HPA's raw recommendation for one metric (before clamping and stabilisation)."""
    if current <= 0:
        # A scaled-to-zero target has no utilisation to compare; one pod restarts the loop.
        return 1 if metric > 0 else 0
    ratio = metric / (current * target) if target > 0 else math.inf
    if abs(ratio - 1.0) <= tolerance:
        return current
    return math.ceil(current * ratio)


def scale_up_limit(current: int) -> int:
    """The default scale-up policies: +100 % or +4 pods per period, whichever allows more."""
    return max(2 * current, current + 4)


def ready_replicas(replicas: NDArray[np.int64], startup_ticks: int) -> NDArray[np.int64]:
    """Replicas serving: a pod serves once it has existed `startup_ticks` ticks.

    Scale-down removes the newest pods first, so the serving count is the lowest replica count
    of the start-up window.
    """
    if startup_ticks <= 0 or replicas.size == 0:
        return replicas.copy()
    padded = np.concatenate([np.full(startup_ticks, replicas[0]), replicas])
    windows = np.lib.stride_tricks.sliding_window_view(padded, startup_ticks + 1)
    lowest: NDArray[np.int64] = windows.min(axis=1).astype(np.int64)
    return lowest


def replay_hpa(
    demand: DemandSeries,
    capacity: float,
    settings: HpaSettings,
    *,
    floor: NDArray[np.int64] | None = None,
    initial_replicas: int | None = None,
) -> Replay:
    """Replay the HPA over `demand` with `capacity` per replica (same unit as demand).

    `floor` is a `minReplicas` per demand sample (a schedule); without it `min_replicas` holds.
    Gaps in demand hold the last metric, as the controller does when metrics are missing.
    """
    tick = settings.sync_period_seconds
    per_step = max(1, round(demand.step_seconds / tick))
    n_ticks = demand.values.size * per_step
    values = np.nan_to_num(demand.values, nan=0.0)
    lag_ticks = round(settings.metric_lag_seconds / tick)
    window_ticks = round(settings.scale_down_stabilisation_seconds / tick)
    mins = (
        np.maximum(floor, settings.min_replicas).astype(np.int64)
        if floor is not None
        else np.full(demand.values.size, settings.min_replicas, dtype=np.int64)
    )
    out = np.empty(n_ticks, dtype=np.int64)
    current = initial_replicas if initial_replicas is not None else int(mins[0]) if mins.size else 1
    window = _ScaleDownWindow(window_ticks)
    i = 0
    while i < n_ticks:
        step = i // per_step
        metric_step = max(0, (i - lag_ticks) // per_step)
        metric = float(values[metric_step]) / capacity if capacity > 0 else 0.0
        floor_now, ceiling = int(mins[step]), max(settings.max_replicas, int(mins[step]))
        raw = desired_replicas(current, metric, settings.target_utilisation, settings.tolerance)
        raw = min(max(raw, floor_now), ceiling)
        window.record(i, raw)
        if raw > current:
            result = min(raw, scale_up_limit(current))
        else:
            result = min(current, window.highest())
        result = max(result, floor_now)
        if result != current:
            current = result
            out[i] = current
            i += 1
            continue
        # Nothing changes until the metric, the floor or the window's highest entry does, and
        # every tick until then would record the same recommendation: jump there.
        stop = min((metric_step + 1) * per_step + lag_ticks, (step + 1) * per_step)
        if raw < current:
            stop = min(stop, window.expiry())
        stop = min(n_ticks, max(i + 1, stop))
        out[i:stop] = current
        window.record(stop - 1, raw)
        i = stop
    startup = round(settings.startup_seconds / tick)
    return Replay(tick_seconds=tick, replicas=out, ready=ready_replicas(out, startup))


def replay_fixed(
    demand: DemandSeries,
    replicas_per_step: NDArray[np.int64],
    *,
    tick_seconds: float = 15.0,
    startup_seconds: float = 60.0,
) -> Replay:
    """A replica count set per demand sample (static or scheduled), on the same tick grid."""
    per_step = max(1, round(demand.step_seconds / tick_seconds))
    out = np.repeat(replicas_per_step.astype(np.int64), per_step)
    return Replay(tick_seconds, out, ready_replicas(out, round(startup_seconds / tick_seconds)))
