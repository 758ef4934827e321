"""HPA-aware request sizing."""

from __future__ import annotations

from recommender.autoscaling.sizing import hpa_aware_request
from tests.unit.recommender.autoscaling.series import daily


def test_request_reaches_the_target_at_the_demand_quantile() -> None:
    """Demand 7 at the quantile over 3 of 4 max replicas at 70 % needs 7 / (3 * 0.7)."""
    sized = hpa_aware_request(
        daily(1.0, 7.0, 7), target_utilisation=0.7, max_replicas=4, replica_share=0.75
    )
    assert sized.replicas_at_quantile == 3
    assert abs(sized.request - 7.0 / 2.1) < 1e-9


def test_request_does_not_fall_below_the_minimum() -> None:
    """A tiny demand still requests the minimum."""
    sized = hpa_aware_request(
        daily(0.001, 0.002, 7), target_utilisation=0.7, max_replicas=10, minimum=0.01
    )
    assert sized.request == 0.01
