"""Knobs of the rightsizing policy, with their defaults and why."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30
MIB = 2**20
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class RightsizingPolicy:
    """How requests are derived from history.

    Targets are cost-aware: for each container the request minimises expected headroom plus a
    penalty times the share of time usage would exceed it. A fixed penalty (in cores, in bytes)
    spends headroom where it is cheap: a small container gets a request near its peak, while a
    large, spiky one trades a rare exceedance for many unused cores.
    """

    cpu_penalty_cores: float = 13.0
    memory_penalty_bytes: float = 1050.0 * GIB
    min_samples: int = 100
    min_history_seconds: float = DAY
    """Below this much evidence there is no recommendation at all."""
    full_confidence_seconds: float = 7 * DAY
    low_confidence_margin: float = 0.3
    """Extra headroom at the least confidence, shrinking linearly to none at full confidence."""
    oom_bump_ratio: float = 1.2
    oom_min_bump_bytes: int = 100 * MIB
    oom_memory_seconds: float = 7 * DAY
    """An OOM kill this recent sets a floor on the memory request."""
    throttled_share: float = 0.05
    """Above this share of throttled samples the CPU request and limit are raised."""
    throttle_bump_ratio: float = 1.25
    min_throttle_samples: int = 50
    gpu_memory_percentile: float = 0.99
    gpu_memory_margin: float = 0.10
    gpu_memory_resource: str | None = None
    """An extended resource that requests GPU memory (such as HAMi's `nvidia.com/gpumem`)."""
    gpu_memory_resource_unit_bytes: int = MIB
    min_cpu_millis: int = 10
    min_memory_bytes: int = 32 * MIB
    min_change: float = 0.10
    """Changes smaller than this share of the current request are not worth a rollout."""
    min_monthly_saving_usd: float = 1.0
