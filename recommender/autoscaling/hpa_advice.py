"""HPA advice from demand history: a new HPA's spec, and what is wrong with an existing one."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.forecast import replicas_for
from recommender.autoscaling.policy import ScalingPolicy

HOUR = 3600.0
MIN_STABILISATION_SECONDS = 300.0
MAX_STABILISATION_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class HpaProposal:
    """An autoscaling/v2 HPA spec on one resource metric."""

    resource: str
    target_utilisation: float
    min_replicas: int
    max_replicas: int
    scale_down_stabilisation_seconds: int
    scale_up_stabilisation_seconds: int = 0


@dataclass(frozen=True, slots=True)
class ObservedHpa:
    """An existing HPA's spec and the replica counts it produced, aligned with demand."""

    target_utilisation: float
    min_replicas: int
    max_replicas: int
    scale_down_stabilisation_seconds: float
    replicas: NDArray[np.int64]


class HpaFinding(StrEnum):
    """What is wrong with an existing HPA."""

    TARGET_TOO_LOW = "target_too_low"
    MIN_TOO_HIGH = "min_too_high"
    MAX_TOO_LOW = "max_too_low"
    FLAPPING = "flapping"


@dataclass(frozen=True, slots=True)
class HpaRetune:
    """The findings on an HPA and the spec that fixes them."""

    findings: tuple[HpaFinding, ...]
    proposal: HpaProposal
    scale_events_per_hour: float


def dip_stabilisation_seconds(demand: DemandSeries, threshold: float) -> int:
    """A scale-down window long enough to ride out most short dips below `threshold`.

    A dip is a run of samples below `threshold` between samples above it; the window covers the
    90th percentile dip, between five minutes (the Kubernetes default) and an hour.
    """
    below = np.nan_to_num(demand.values, nan=threshold) < threshold
    runs: list[int] = []
    length = 0
    seen_above = False
    for is_below in below:
        if is_below:
            length += 1
            continue
        if seen_above and length:
            runs.append(length)
        length, seen_above = 0, True
    if not runs:
        return int(MIN_STABILISATION_SECONDS)
    seconds = float(np.quantile(np.asarray(runs), 0.9)) * demand.step_seconds
    clipped = min(MAX_STABILISATION_SECONDS, max(MIN_STABILISATION_SECONDS, seconds))
    return int(math.ceil(clipped / 60.0) * 60)


def propose_hpa(
    demand: DemandSeries, capacity: float, policy: ScalingPolicy, resource: str = "cpu"
) -> HpaProposal:
    """An HPA for a workload that has none: target, bounds and scale-down window from history.

    The floor is what the quietest 1 % of the history needs; the ceiling leaves
    `headroom_replicas` times what the busiest sample needed at the target; the scale-down window
    rides out the history's dips (`dip_stabilisation`) or is the Kubernetes default.
    """
    target = policy.target_utilisation
    low = replicas_for(demand.quantile(0.01), capacity, target)
    peak = replicas_for(demand.quantile(1.0), capacity, target)
    return HpaProposal(
        resource=resource,
        target_utilisation=target,
        min_replicas=low,
        max_replicas=max(low + 1, math.ceil(peak * policy.headroom_replicas)),
        scale_down_stabilisation_seconds=dip_stabilisation_seconds(demand, demand.quantile(0.5))
        if policy.dip_stabilisation
        else int(MIN_STABILISATION_SECONDS),
    )


def scale_events_per_hour(replicas: NDArray[np.int64], step_seconds: float) -> float:
    """How often the replica count changed, per hour of history."""
    if replicas.size < 2:
        return 0.0
    changes = int(np.count_nonzero(np.diff(replicas)))
    return changes / (replicas.size * step_seconds / HOUR)


def retune_hpa(
    demand: DemandSeries,
    observed: ObservedHpa,
    capacity: float,
    policy: ScalingPolicy,
    *,
    max_events_per_hour: float = 4.0,
) -> HpaRetune | None:
    """What to change on an existing HPA, or None when it is fine.

    - target too low: at the demand peak the replicas ran below the target we would set,
      i.e. they stood idle at the busiest moment;
    - min too high: even the quietest 1 % of demand never needed `minReplicas`;
    - max too low: replicas sat at `maxReplicas` with utilisation above target in over 1 % of
      samples;
    - flapping: more than `max_events_per_hour` scale events per hour.
    """
    values = np.nan_to_num(demand.values, nan=0.0)
    replicas = np.maximum(observed.replicas[: values.size], 1)
    utilisation = values / (replicas * capacity)
    findings: list[HpaFinding] = []
    target = observed.target_utilisation
    peak_at = values >= demand.quantile(0.95)
    if peak_at.any() and float(np.median(utilisation[peak_at])) < policy.target_utilisation - 0.1:
        findings.append(HpaFinding.TARGET_TOO_LOW)
        target = policy.target_utilisation
    floor = replicas_for(demand.quantile(0.01), capacity, target)
    if floor < observed.min_replicas:
        findings.append(HpaFinding.MIN_TOO_HIGH)
    pinned = (replicas >= observed.max_replicas) & (utilisation > target * 1.1)
    ceiling = observed.max_replicas
    if pinned.mean() > 0.01:
        findings.append(HpaFinding.MAX_TOO_LOW)
        peak = replicas_for(demand.quantile(1.0), capacity, target)
        ceiling = max(ceiling + 1, math.ceil(peak * policy.headroom_replicas))
    events = scale_events_per_hour(replicas, demand.step_seconds)
    window = int(observed.scale_down_stabilisation_seconds)
    if events > max_events_per_hour:
        findings.append(HpaFinding.FLAPPING)
        window = max(2 * window, dip_stabilisation_seconds(demand, demand.quantile(0.5)))
        window = int(min(MAX_STABILISATION_SECONDS, window))
    if not findings:
        return None
    proposal = HpaProposal(
        resource="cpu",
        target_utilisation=target,
        min_replicas=min(floor, observed.min_replicas),
        max_replicas=ceiling,
        scale_down_stabilisation_seconds=window,
    )
    return HpaRetune(tuple(findings), proposal, events)
