"""Rightsizing recommendations for a snapshot, priced on the nodes the pods run on.

The saving of a workload is, over its running pods, the node price times the drop in the
pod's share of its node (the larger of CPU and memory share), over a 730-hour month. Raising
an under-provisioned workload is recommended too, at a negative saving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import JsonValue

from protocol.changes import (
    ChangeSet,
    ContainerResources,
    PatchResources,
    WorkloadRef,
)
from protocol.recommendation import Recommendation, RecommendationKind, Risk, SavingBasis
from protocol.resources import Resources
from protocol.snapshot import ClusterSnapshot, Container, PodSpecSummary, Workload, WorkloadKind
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.sizing import cpu_hpa_of, hpa_aware_estimates
from recommender.cost.node_rates import cpu_memory_hourly_usd, node_rates
from recommender.inventory import (
    Inventory,
    recommendation_id,
    workload_ref,
    workload_version,
)
from recommender.preconditions import workload_precondition
from recommender.pricing.cost import monthly_usd, pod_requests, price_node
from recommender.pricing.pricebook import PriceBook
from recommender.rightsizing.estimate import ContainerEstimate, estimate_container
from recommender.rightsizing.limits import container_resources, is_guaranteed
from recommender.rightsizing.policy import RightsizingPolicy
from recommender.usage.key import ContainerKey
from recommender.usage.state import ContainerUsageState

RIGHTSIZED_KINDS = frozenset(
    {WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET, WorkloadKind.DAEMON_SET}
)
LOW_CONFIDENCE = 0.6
LARGE_MEMORY_CUT = 0.5


def patched_spec(spec: PodSpecSummary, changes: Sequence[ContainerResources]) -> PodSpecSummary:
    """A pod spec with the changed requests applied (limits are irrelevant to placement)."""
    by_name = {c.container: c for c in changes}
    containers: list[Container] = []
    for container in spec.containers:
        change = by_name.get(container.name)
        if change is None:
            containers.append(container)
            continue
        requests = Resources(
            cpu_millis=change.requests.cpu_millis,
            memory_bytes=change.requests.memory_bytes,
            extended={**container.requests.extended, **change.requests.extended},
        )
        containers.append(container.model_copy(update={"requests": requests}))
    return spec.model_copy(update={"containers": containers})


def monthly_saving(
    workload: Workload,
    changes: Sequence[ContainerResources],
    inventory: Inventory,
    pricebook: PriceBook,
) -> float:
    """USD a month the CPU and memory released by `changes` cost at each node's resource rates.

    Priced per resource, as cost allocation prices them: freeing cores on a GPU node is worth
    the node's CPU rate, not a share of its whole price. The money is realised when the freed
    capacity lets nodes go, which is why a consolidation draining these pods' nodes is grouped
    with this recommendation and counted once.
    """
    hourly = 0.0
    cluster = inventory.snapshot.cluster
    for pod in inventory.pods_of(workload):
        node = inventory.nodes.get(pod.node_name or "")
        price = price_node(node, cluster, pricebook) if node is not None else None
        if node is None or price is None:
            continue
        rates = node_rates(node, price.hourly_usd)
        before = cpu_memory_hourly_usd(pod_requests(pod.spec), rates)
        after = cpu_memory_hourly_usd(pod_requests(patched_spec(pod.spec, changes)), rates)
        hourly += before - after
    return monthly_usd(hourly)


def _risk(
    workload: Workload,
    inventory: Inventory,
    estimates: Mapping[str, ContainerEstimate],
    changes: Sequence[ContainerResources],
) -> tuple[Risk, str]:
    current = {c.name: c for c in workload.template.containers}
    notes: list[str] = []
    risk = Risk.LOW
    for change in changes:
        old = current[change.container].requests.memory_bytes
        new = change.requests.memory_bytes or 0
        if old and new < old * (1 - LARGE_MEMORY_CUT):
            risk, notes = Risk.MEDIUM, [*notes, f"{change.container}: memory cut by over half"]
        if estimates[change.container].confidence < LOW_CONFIDENCE:
            risk, notes = Risk.MEDIUM, [*notes, f"{change.container}: short history"]
    cpu_scaled = any(
        h.target_kind == workload.kind.value
        and h.target_name == workload.name
        and h.namespace == workload.namespace
        and any(m.name == "cpu" for m in h.metrics)
        for h in inventory.snapshot.hpas
    )
    if cpu_scaled:
        risk, notes = Risk.MEDIUM, [*notes, "an HPA scales on CPU utilisation of the request"]
    return risk, "; ".join(notes)


def _evidence(
    workload: Workload, estimates: Mapping[str, ContainerEstimate]
) -> dict[str, JsonValue]:
    current = {c.name: c for c in workload.template.containers}
    return {
        "containers": [
            {
                "container": name,
                "current_cpu_millis": current[name].requests.cpu_millis,
                "current_memory_bytes": current[name].requests.memory_bytes,
                "target_cpu_millis": e.cpu_millis,
                "target_memory_bytes": e.memory_bytes,
                "target_gpu_memory_bytes": e.gpu_memory_bytes,
                "history_hours": round(e.history_hours, 1),
                "samples": e.samples,
                "confidence": round(e.confidence, 3),
                "bumps": [b.value for b in e.bumps],
            }
            for name, e in sorted(estimates.items())
        ],
        "qos_guaranteed_kept": is_guaranteed(workload.template.containers),
    }


def recommend_rightsizing_for(
    workload: Workload,
    states: Mapping[ContainerKey, ContainerUsageState],
    inventory: Inventory,
    pricebook: PriceBook,
    now: datetime,
    *,
    policy: RightsizingPolicy,
    demand: DemandSeries | None = None,
) -> Recommendation | None:
    """The rightsizing recommendation of one workload, or None.

    With the workload's demand history, a workload an HPA scales on CPU is sized HPA-aware.
    """
    if workload.kind not in RIGHTSIZED_KINDS:
        return None
    guaranteed = is_guaranteed(workload.template.containers)
    estimates: dict[str, ContainerEstimate] = {}
    for container in workload.template.containers:
        key = ContainerKey(workload.namespace, workload.kind.value, workload.name, container.name)
        state = states.get(key)
        estimate = (
            estimate_container(state, policy, now.timestamp(), container.requests)
            if state
            else None
        )
        if estimate is None:
            # A Guaranteed pod must stay Guaranteed: all of its containers move or none do.
            if guaranteed:
                return None
            continue
        estimates[container.name] = estimate
    hpa = cpu_hpa_of(workload, inventory.snapshot)
    if hpa is not None and demand is not None and not guaranteed:
        estimates = hpa_aware_estimates(estimates, hpa, demand)
    changes = [
        change
        for container in workload.template.containers
        if container.name in estimates
        and (
            change := container_resources(
                container, estimates[container.name], policy, guaranteed=guaranteed
            )
        )
        is not None
    ]
    if not changes:
        return None
    saving = monthly_saving(workload, changes, inventory, pricebook)
    if 0 <= saving < policy.min_monthly_saving_usd:
        return None
    risk, note = _risk(workload, inventory, estimates, changes)
    snapshot = inventory.snapshot
    direction = "Shrink" if saving > 0 else "Raise"
    return Recommendation(
        recommendation_id=recommendation_id(
            snapshot,
            RecommendationKind.RIGHTSIZING,
            f"{workload.kind.value}/{workload.namespace}/{workload.name}",
        ),
        cluster_id=snapshot.cluster.cluster_id,
        kind=RecommendationKind.RIGHTSIZING,
        workload=workload_ref(workload),
        title=f"{direction} requests of {workload.namespace}/{workload.name}",
        reason=(
            f"requests of {len(changes)} container(s) set from "
            f"{min(e.history_hours for e in estimates.values()):.0f}+ hours of usage history"
        ),
        evidence=_evidence(workload, estimates),
        risk=risk,
        risk_note=note,
        monthly_saving_usd=round(saving, 2),
        confidence=round(min(e.confidence for e in estimates.values()), 3),
        saving_basis=SavingBasis.NODE_REMOVAL,
        change_set=ChangeSet(
            actions=[
                PatchResources(
                    target=workload_ref(workload),
                    containers=changes,
                    precondition=workload_precondition(workload),
                )
            ],
            summary=f"set requests of {', '.join(c.container for c in changes)}",
        ),
        computed_from=[workload_version(workload)],
        created_at=now,
    )


def recommend_rightsizing(
    snapshot: ClusterSnapshot,
    states: Mapping[ContainerKey, ContainerUsageState],
    pricebook: PriceBook,
    now: datetime,
    policy: RightsizingPolicy | None = None,
    *,
    demand: Mapping[WorkloadRef, DemandSeries] | None = None,
) -> list[Recommendation]:
    """Rightsizing recommendations for every workload with enough history, largest first."""
    inventory = Inventory.build(snapshot)
    chosen = policy or RightsizingPolicy()
    demands = demand or {}
    found = [
        rec
        for workload in snapshot.workloads
        if (
            rec := recommend_rightsizing_for(
                workload,
                states,
                inventory,
                pricebook,
                now,
                policy=chosen,
                demand=demands.get(workload_ref(workload)),
            )
        )
        is not None
    ]
    return sorted(found, key=lambda r: -abs(r.monthly_saving_usd))
