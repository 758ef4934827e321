"""The parameters of our autoscaling advice.

The defaults are what `bench.autoscaling_tuning` chooses on all 57 Bitbrains series of the
bench (target 90 %, floor at the 60th percentile of each hour at full utilisation), under its
assumption that a new pod serves a minute after it is added; slower-starting workloads want a
lower target.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScalingPolicy:
    """How demand history becomes an HPA and a replica-floor schedule."""

    target_utilisation: float = 0.9
    """The HPA target on the driving resource."""
    floor_quantile: float = 0.6
    """Quantile of each slot's past demand the scheduled floor covers."""
    floor_utilisation: float = 1.0
    """Utilisation of the floor's replicas at that quantile."""
    slot_seconds: float = 3600.0
    """Granularity of the schedule (one `minReplicas` change per slot at most)."""
    lead_slots: int = 1
    """The floor rises this many slots before forecast demand does, to absorb pod start-up."""
    min_pattern_strength: float = 0.3
    """Below this the series has no usable cycle and the floor is flat."""
    recent_cycles: int = 4
    """Only the newest cycles inform the profile, so it follows drift."""
    headroom_replicas: float = 1.5
    """`maxReplicas` is this multiple of the replicas the observed peak needs at the target."""
