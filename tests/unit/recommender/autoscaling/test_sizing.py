"""HPA-aware request sizing."""

from __future__ import annotations

from recommender.autoscaling.sizing import hpa_aware_request, spread_request
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


def test_a_pod_request_is_split_in_proportion_to_the_containers() -> None:
    """900m over an app estimated at 400m and a sidecar at 200m is 600m and 300m."""
    assert spread_request(900.0, {"app": 400.0, "sidecar": 200.0}) == {
        "app": 600.0,
        "sidecar": 300.0,
    }
