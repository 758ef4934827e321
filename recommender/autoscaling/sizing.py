"""HPA-aware request sizing.

Under an HPA per-pod usage is not a property of the workload: the HPA adds replicas until each
runs at its target utilisation of the *request*, so shrinking requests to per-pod usage only
makes the HPA add pods and per-pod usage never falls. What is fixed is total demand. We size the
request so that at the demand quantile the HPA reaches its target with a chosen share of
`maxReplicas`, leaving the rest for demand beyond the quantile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from protocol.snapshot import ClusterSnapshot, HorizontalPodAutoscaler, Workload
from recommender.autoscaling.demand import DemandSeries
from recommender.rightsizing.estimate import ContainerEstimate


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


def spread_request(total: float, shares: Mapping[str, float]) -> dict[str, float]:
    """`total` split across containers in proportion to `shares` (equally if all are zero)."""
    weight = sum(shares.values())
    if weight <= 0:
        return {name: total / len(shares) for name in shares} if shares else {}
    return {name: total * share / weight for name, share in shares.items()}


def cpu_hpa_of(workload: Workload, snapshot: ClusterSnapshot) -> HorizontalPodAutoscaler | None:
    """The HPA that scales the workload on CPU utilisation, if any."""
    for hpa in snapshot.hpas:
        if (hpa.namespace, hpa.target_kind, hpa.target_name) == (
            workload.namespace,
            workload.kind.value,
            workload.name,
        ) and any(m.name == "cpu" and m.target_utilization for m in hpa.metrics):
            return hpa
    return None


def hpa_aware_estimates(
    estimates: Mapping[str, ContainerEstimate],
    hpa: HorizontalPodAutoscaler,
    demand: DemandSeries,
) -> dict[str, ContainerEstimate]:
    """Per-container estimates whose CPU sums to the HPA-aware pod request.

    The pod request comes from `hpa_aware_request` at the HPA's own target and maximum; it is
    split across containers in proportion to their usage-based estimates.
    """
    target = next(
        m.target_utilization for m in hpa.metrics if m.name == "cpu" and m.target_utilization
    )
    sized = hpa_aware_request(
        demand, target_utilisation=(target or 100) / 100, max_replicas=max(1, hpa.max_replicas)
    )
    if sized.request <= 0:
        return dict(estimates)
    cpu = spread_request(sized.request * 1000, {n: e.cpu_millis for n, e in estimates.items()})
    return {
        name: replace(estimate, cpu_millis=max(1, math.ceil(cpu[name])))
        for name, estimate in estimates.items()
    }
