"""HPA-aware request sizing.

Under an HPA per-pod usage is not a property of the workload: the HPA adds replicas until each
runs at its target utilisation of the *request*, so shrinking requests to per-pod usage only
makes the HPA add pods and per-pod usage never falls. What is fixed is total demand. We size the
request so that at the demand quantile the HPA reaches its target with a chosen share of
`maxReplicas`, leaving the rest for demand beyond the quantile.
"""

from __future__ import annotations

from dataclasses import dataclass

from recommender.autoscaling.demand import DemandSeries


@dataclass(frozen=True, slots=True)
class HpaAwareRequest:
    """A per-pod request and the replica count the HPA will run at the demand quantile."""

    request: float
    replicas_at_quantile: int


def hpa_aware_request(
    demand: DemandSeries,
    *,
    target_utilisation: float,
    max_replicas: int,
    quantile: float = 0.95,
    replica_share: float = 0.75,
    minimum: float = 0.0,
) -> HpaAwareRequest:
    """The request at which `quantile` demand runs `replica_share` of `max_replicas` at target.

    `request = demand_q / (replicas_q * target)`: each of `replicas_q` pods then uses exactly
    `target` of its request at the quantile, and the HPA has headroom up to `max_replicas`.
    """
    replicas = max(1, int(max_replicas * replica_share))
    demand_q = demand.quantile(quantile)
    request = demand_q / (replicas * target_utilisation) if target_utilisation > 0 else demand_q
    return HpaAwareRequest(request=max(minimum, request), replicas_at_quantile=replicas)
