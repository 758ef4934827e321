"""Per-container targets from a usage state: cost-aware values, margins and bumps.

CPU is the cost-aware value of its history; memory that of its history mixed with the fleet's
tail prior (see `tail`), so small containers get headroom above their peak where it is cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from protocol.resources import Resources
from recommender.rightsizing.policy import MIB, RightsizingPolicy
from recommender.rightsizing.tail import predictive_value
from recommender.usage.state import ContainerUsageState


class Bump(StrEnum):
    """Adjustments made on top of the history-based value."""

    OOM = "oom"
    THROTTLING = "throttling"
    LOW_CONFIDENCE = "low-confidence"


@dataclass(frozen=True, slots=True)
class ContainerEstimate:
    """What one container should request."""

    cpu_millis: int
    memory_bytes: int
    gpu_memory_bytes: int | None
    confidence: float
    history_hours: float
    samples: int
    bumps: tuple[Bump, ...]


def confidence_of(state: ContainerUsageState, policy: RightsizingPolicy) -> float:
    """Grows linearly with the history's length, reaching 1 at `full_confidence_seconds`."""
    return min(state.signals.history_seconds / policy.full_confidence_seconds, 1.0)


def has_evidence(state: ContainerUsageState, policy: RightsizingPolicy) -> bool:
    """Whether there is enough history to recommend anything."""
    signals = state.signals
    return (
        signals.samples >= policy.min_samples
        and signals.history_seconds >= policy.min_history_seconds
        and not state.cpu.is_empty()
        and not state.memory.is_empty()
    )


def oom_floor(memory_bytes: float, policy: RightsizingPolicy) -> float:
    """Memory that would have avoided an OOM kill at `memory_bytes` (the VPA's bump)."""
    return max(memory_bytes * policy.oom_bump_ratio, memory_bytes + policy.oom_min_bump_bytes)


def estimate_container(
    state: ContainerUsageState,
    policy: RightsizingPolicy,
    now: float,
    current: Resources | None = None,
) -> ContainerEstimate | None:
    """Targets for one container as of `now` (epoch seconds); None without enough evidence."""
    if not has_evidence(state, policy):
        return None
    signals = state.signals
    bumps: list[Bump] = []
    cpu = state.cpu.cost_aware_value(policy.cpu_penalty_cores)
    memory = predictive_value(state.memory, policy.memory_penalty_bytes, policy.memory_tail)
    confidence = confidence_of(state, policy)
    if confidence < 1.0:
        margin = 1.0 + policy.low_confidence_margin * (1.0 - confidence)
        cpu, memory = cpu * margin, memory * margin
        bumps.append(Bump.LOW_CONFIDENCE)
    recent_oom = (
        signals.last_oom_at is not None and now - signals.last_oom_at <= policy.oom_memory_seconds
    )
    if recent_oom:
        memory = max(memory, oom_floor(signals.last_oom_memory_bytes, policy))
        bumps.append(Bump.OOM)
    if (
        signals.throttle_observed >= policy.min_throttle_samples
        and signals.throttled_share > policy.throttled_share
    ):
        # Throttling means the limit bites; a request below the current one would make it worse.
        held = (current.cpu_millis or 0) / 1000 if current else 0.0
        cpu = max(cpu, held) * policy.throttle_bump_ratio
        bumps.append(Bump.THROTTLING)
    gpu_memory = None
    if not state.gpu_memory.is_empty():
        used = state.gpu_memory.percentile(policy.gpu_memory_percentile)
        gpu_memory = math.ceil(used * (1 + policy.gpu_memory_margin) / MIB) * MIB
    return ContainerEstimate(
        cpu_millis=max(math.ceil(cpu * 1000), policy.min_cpu_millis),
        memory_bytes=max(math.ceil(memory / MIB) * MIB, policy.min_memory_bytes),
        gpu_memory_bytes=gpu_memory,
        confidence=confidence,
        history_hours=signals.history_seconds / 3600,
        samples=signals.samples,
        bumps=tuple(bumps),
    )
