"""The parameters of our autoscaling advice.

A workload's HPA target, floor quantile and scale-down window are chosen per workload from the
`candidate_*` grids by replaying each over its own history (`selection.choose_plan`). The one
parameter of that choice, `risk_weight`, is what `bench.autoscaling_tuning` chose on either
half of the bench's Bitbrains series (0.7 on both halves; each scored on the other half: 0.91x
the HPA's replica-hours at fewer under-provisioned minutes), under its assumption that a new
pod serves a minute after it is added. `gpu_signal_z` is what it chose on either half of the
GenAI GPU services (1.0 on both; each scored on the other half: fewer replica-hours and fewer
under-provisioned minutes than the HPA).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScalingPolicy:
    """How demand history becomes an HPA and a replica-floor schedule."""

    target_utilisation: float = 0.9
    """The HPA target on the driving resource (a candidate's; see `candidate_targets`)."""
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
    dip_stabilisation: bool = True
    """Scale-down window long enough to ride out the history's dips; else the 5-minute default."""
    candidate_targets: tuple[float, ...] = (0.7, 0.8, 0.9)
    """HPA targets tried per workload."""
    candidate_floor_quantiles: tuple[float, ...] = (0.0, 0.3, 0.6)
    """Floor quantiles tried per workload (0: no floor beyond one replica)."""
    candidate_dip_stabilisation: tuple[bool, ...] = (True,)
    """Scale-down windows tried per workload: the dip-riding one, the 5-minute default."""
    risk_weight: float = 0.7
    """Weight of the under-provisioned share against replica-hours when choosing a candidate."""
    risk_floor: float = 0.002
    """Added to both under-provisioned shares compared, so a riskless history stays comparable."""
    gpu_signal_z: float = 1.0
    """Where KEDA scales a GPU service, it scales on the last `signal_window_seconds` of GPU
    demand's mean plus this many standard deviations (`signal`); 0 scales on demand itself."""
    signal_window_seconds: float = 300.0
    """The window of that signal."""
    require_dominance: bool = False
    """Only candidates no worse than the reference HPA on both counts over the history, and none
    on less than a day of it; else the reference (`selection.select_plan`)."""
