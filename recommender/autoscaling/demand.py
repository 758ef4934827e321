"""Per-workload demand: the sum of usage across a workload's replicas, on a regular grid.

Demand is what the workload needs in total (cores, bytes, GPU duty), independent of how many
replicas share it; replica counts are derived from it with a per-replica capacity. The series is
bounded like the usage state: only the newest `max_points` samples are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DEFAULT_STEP_SECONDS = 60.0
# Fourteen days of one-minute samples, the same horizon as the usage histograms' half-life.
DEFAULT_MAX_POINTS = 14 * 24 * 60


@dataclass(frozen=True, slots=True)
class DemandSeries:
    """Demand sampled every `step_seconds` from `start` (Unix seconds); NaN marks a gap."""

    start: float
    step_seconds: float
    values: NDArray[np.float64]

    @property
    def end(self) -> float:
        """The instant just after the last sample."""
        return self.start + self.step_seconds * self.values.size

    def seconds(self) -> NDArray[np.float64]:
        """The instant of every sample."""
        return self.start + self.step_seconds * np.arange(self.values.size, dtype=np.float64)

    def present(self) -> NDArray[np.float64]:
        """The samples that are not gaps."""
        return self.values[~np.isnan(self.values)]

    def quantile(self, q: float) -> float:
        """A quantile of the samples present (0 when there are none)."""
        present = self.present()
        return float(np.quantile(present, q)) if present.size else 0.0

    def bounded(self, max_points: int = DEFAULT_MAX_POINTS) -> DemandSeries:
        """The newest `max_points` samples."""
        drop = max(0, self.values.size - max_points)
        return DemandSeries(
            self.start + drop * self.step_seconds, self.step_seconds, self.values[drop:]
        )

    def split(self, at: float) -> tuple[DemandSeries, DemandSeries]:
        """The samples before `at` and those from `at` on."""
        index = min(self.values.size, max(0, math.ceil((at - self.start) / self.step_seconds)))
        head = DemandSeries(self.start, self.step_seconds, self.values[:index])
        tail = DemandSeries(
            self.start + index * self.step_seconds, self.step_seconds, self.values[index:]
        )
        return head, tail


def demand_from_samples(
    samples: Iterable[tuple[float, str, float]],
    *,
    step_seconds: float = DEFAULT_STEP_SECONDS,
    max_points: int = DEFAULT_MAX_POINTS,
) -> DemandSeries:
    """Demand from per-pod usage samples `(unix seconds, pod, usage)`.

    Within one step each pod counts once (its mean over the step), so a pod reported twice in a
    minute is not counted twice; steps with no sample at all are gaps, not zero demand.
    """
    per_step: dict[int, dict[str, list[float]]] = {}
    for at, pod, usage in samples:
        per_step.setdefault(math.floor(at / step_seconds), {}).setdefault(pod, []).append(usage)
    if not per_step:
        return DemandSeries(0.0, step_seconds, np.zeros(0))
    first, last = min(per_step), max(per_step)
    values = np.full(last - first + 1, np.nan)
    for step, pods in per_step.items():
        values[step - first] = sum(sum(v) / len(v) for v in pods.values())
    return DemandSeries(first * step_seconds, step_seconds, values).bounded(max_points)


def resample(series: DemandSeries, step_seconds: float) -> DemandSeries:
    """The series on a coarser (or finer) grid: means of coarser steps, repeats for finer ones."""
    if step_seconds >= series.step_seconds:
        factor = round(step_seconds / series.step_seconds)
        usable = series.values.size - series.values.size % factor
        blocks = series.values[:usable].reshape(-1, factor)
        with np.errstate(all="ignore"):
            # All-gap blocks stay gaps; the RuntimeWarning numpy raises for them is expected.
            counts = np.sum(~np.isnan(blocks), axis=1)
            sums = np.nansum(blocks, axis=1)
            means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return DemandSeries(series.start, series.step_seconds * factor, means)
    factor = round(series.step_seconds / step_seconds)
    return DemandSeries(
        series.start, series.step_seconds / factor, np.repeat(series.values, factor)
    )
