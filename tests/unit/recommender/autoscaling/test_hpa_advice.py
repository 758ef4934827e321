"""A new HPA's spec and the findings on an existing one."""

from __future__ import annotations

import numpy as np

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.hpa_advice import (
    HpaFinding,
    ObservedHpa,
    dip_stabilisation_seconds,
    propose_hpa,
    retune_hpa,
    scale_events_per_hour,
)
from recommender.autoscaling.policy import ScalingPolicy
from tests.unit.recommender.autoscaling.series import T0, daily, flat

POLICY = ScalingPolicy(target_utilisation=0.7, headroom_replicas=1.5)


def _observed(
    replicas: np.ndarray, *, target: float = 0.7, low: int = 1, high: int = 20
) -> ObservedHpa:
    return ObservedHpa(target, low, high, 300.0, replicas.astype(np.int64))


def test_new_hpa_spans_quiet_to_peak_demand() -> None:
    """Office-hours demand 1..7 at a 70 % target: min 2, max 1.5 x 10."""
    proposal = propose_hpa(daily(1.0, 7.0, 14), 1.0, POLICY)
    assert (proposal.min_replicas, proposal.max_replicas) == (2, 15)


def test_short_dips_lengthen_the_scale_down_window() -> None:
    """Dips of 20 minutes get a 20-minute scale-down window."""
    values = np.tile(np.r_[np.full(40, 5.0), np.full(20, 1.0)], 24)
    assert dip_stabilisation_seconds(DemandSeries(T0, 60.0, values), 3.0) == 1200


def test_scale_events_are_counted_per_hour() -> None:
    """Alternating counts every minute for an hour are 59 events in 1 hour."""
    replicas = np.tile(np.array([2, 3]), 30)
    assert scale_events_per_hour(replicas, 60.0) == 59.0


def test_idle_replicas_at_peak_mean_the_target_is_too_low() -> None:
    """Replicas at 30 % utilisation at the peak are flagged and the target raised."""
    demand = flat(3.0, 1.0)
    retune = retune_hpa(demand, _observed(np.full(288, 10), target=0.3), 1.0, POLICY)
    assert retune is not None
    assert HpaFinding.TARGET_TOO_LOW in retune.findings
    assert retune.proposal.target_utilisation == 0.7


def test_a_floor_never_needed_is_too_high() -> None:
    """minReplicas 8 while demand never needs more than 2 is flagged and lowered."""
    demand = flat(1.4, 1.0)
    retune = retune_hpa(demand, _observed(np.full(288, 8), low=8), 1.0, POLICY)
    assert retune is not None
    assert HpaFinding.MIN_TOO_HIGH in retune.findings
    assert retune.proposal.min_replicas == 2


def test_demand_pinned_at_max_means_max_is_too_low() -> None:
    """Replicas at max 4 running at 100 % are flagged and the ceiling raised."""
    demand = flat(4.0, 1.0)
    retune = retune_hpa(demand, _observed(np.full(288, 4), high=4), 1.0, POLICY)
    assert retune is not None
    assert HpaFinding.MAX_TOO_LOW in retune.findings
    assert retune.proposal.max_replicas > 4


def test_frequent_scale_events_are_flapping() -> None:
    """A count that changes every sample is flapping and gets a longer window."""
    demand = flat(4.9, 1.0)
    replicas = np.tile(np.array([7, 8]), 144)
    retune = retune_hpa(demand, _observed(replicas), 1.0, POLICY)
    assert retune is not None
    assert HpaFinding.FLAPPING in retune.findings
    assert retune.proposal.scale_down_stabilisation_seconds > 300


def test_a_well_tuned_hpa_has_no_findings() -> None:
    """Replicas at target with a needed floor and room above: nothing to change."""
    demand = flat(4.9, 1.0)
    assert retune_hpa(demand, _observed(np.full(288, 7)), 1.0, POLICY) is None
