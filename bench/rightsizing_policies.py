"""The rightsizing policies compared by `bench.rightsizing`, each from the same training data.

* VPA: the Kubernetes VPA recommender with its published defaults: CPU at the 90th
  percentile of a decaying histogram (24 h half-life, samples weighted by the request),
  memory at the 90th percentile of daily peaks over the last 8 days, both plus a 15 % margin,
  with the pod minimums of 25 millicores and 250 MiB.
* KRR-simple: Robusta KRR's "simple" strategy: CPU at the 95th percentile of the history,
  memory at its maximum plus 15 %, minimums of 10 millicores and 100 MiB.
* slicewise: `recommender.rightsizing` on a `ContainerUsageState` folded from the same samples
  (folded once per window, then estimated under any candidate parameters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.rightsizing.estimate import estimate_container
from recommender.rightsizing.policy import RightsizingPolicy
from recommender.usage.buckets import Quantity
from recommender.usage.histogram import DecayingHistogram
from recommender.usage.peaks import DAY_SECONDS, DailyPeaks
from recommender.usage.state import ContainerUsageState, UsageSettings

MIB = 2**20


@dataclass(frozen=True, slots=True)
class Training:
    """What a policy may look at: the training window's samples and the current requests."""

    seconds: NDArray[np.float64]
    cpu_used: NDArray[np.float64]
    memory_used: NDArray[np.float64]
    cpu_request: float
    memory_request: float
    end: float
    """End of the training window (the moment of recommending)."""


Recommendation = tuple[float, float] | None
"""(CPU cores, memory bytes), or None for "no recommendation: keep what is provisioned"."""
Policy = Callable[[Training], Recommendation]


def vpa(training: Training) -> Recommendation:
    """The VPA recommender's target with its default settings."""
    cpu = DecayingHistogram(Quantity.CPU_CORES, DAY_SECONDS)
    weight = max(training.cpu_request, 0.1)
    cpu.add_samples(training.cpu_used, np.full(training.cpu_used.shape, weight), training.seconds)
    recent = training.seconds >= training.end - 8 * DAY_SECONDS
    peaks = DailyPeaks(half_life_seconds=DAY_SECONDS)
    peaks.add_samples(training.memory_used[recent], training.seconds[recent])
    if cpu.is_empty() or peaks.histogram.is_empty():
        return None
    return (
        max(cpu.percentile(0.9) * 1.15, 0.025),
        max(peaks.histogram.percentile(0.9) * 1.15, 250 * MIB),
    )


def krr_simple(training: Training) -> Recommendation:
    """Robusta KRR's simple strategy with its defaults."""
    if training.cpu_used.size == 0:
        return None
    return (
        max(float(np.percentile(training.cpu_used, 95)), 0.010),
        max(float(training.memory_used.max()) * 1.15, 100 * MIB),
    )


def fold_training(training: Training, settings: UsageSettings | None = None) -> ContainerUsageState:
    """Our usage state folded from the training window's samples."""
    state = ContainerUsageState(settings)
    state.fold(
        training.seconds,
        training.cpu_used,
        training.memory_used,
        cpu_request_cores=training.cpu_request,
    )
    return state


def slicewise_estimate(
    state: ContainerUsageState, policy: RightsizingPolicy, end: float
) -> Recommendation:
    """Ours from a folded state: the production estimator as of `end`."""
    estimate = estimate_container(state, policy, end)
    if estimate is None:
        return None
    return estimate.cpu_millis / 1000, float(estimate.memory_bytes)


def slicewise(
    training: Training,
    policy: RightsizingPolicy | None = None,
    settings: UsageSettings | None = None,
) -> Recommendation:
    """Ours: the production estimator on a usage state folded from the same samples."""
    return slicewise_estimate(
        fold_training(training, settings), policy or RightsizingPolicy(), training.end
    )


BASELINES: dict[str, Policy] = {"VPA": vpa, "KRR-simple": krr_simple}
