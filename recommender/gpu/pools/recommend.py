"""The cluster's GPU sharing recommendation: one priced plan that empties whole GPU nodes.

The saving is the price of the nodes the plan empties; nothing is added. The evidence carries
the GPU map of the nodes the plan may touch before and after, the pools, and each moved
workload's measured need. A plan too large for one change set is cut down to the workloads
with the most replicas until it fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from protocol.changes import MAX_ACTIONS
from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind, Risk
from protocol.snapshot import ClusterSnapshot
from recommender.cost.node_rates import node_rates
from recommender.gpu.mig_layouts import MigConfig
from recommender.gpu.pools.changes import pool_change_set
from recommender.gpu.pools.dra import dra_ready, render_dra
from recommender.gpu.pools.operator import OperatorView, read_operator
from recommender.gpu.pools.plan import GpuPoolPlan, plan_gpu_pools, workload_name
from recommender.gpu.pools.subjects import Subject, shareable_subjects
from recommender.gpu.usage_profile import GpuUsageProfile
from recommender.inventory import Inventory, recommendation_id
from recommender.pricing.cost import monthly_usd, price_node
from recommender.pricing.pricebook import PriceBook
from recommender.usage.key import ContainerKey

EMPTIED_ACTIONS = 2
"""A cordon and a drain per emptied node."""
EMPTIED_LATER = "whole-gpu (emptied by a later plan)"
"""The GPU map's mode of a node the plan would empty but its instruction has no room for."""
_RISK_ORDER = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2}


def _prices(
    snapshot: ClusterSnapshot, pricebook: PriceBook
) -> tuple[dict[str, float], dict[str, float]]:
    """Monthly price per node and hourly price per GPU of each GPU node."""
    monthly: dict[str, float] = {}
    per_gpu: dict[str, float] = {}
    for node in snapshot.nodes:
        if node.gpu is None:
            continue
        price = price_node(node, snapshot.cluster, pricebook)
        if price is None:
            continue
        monthly[node.name] = monthly_usd(price.hourly_usd)
        per_gpu[node.name] = node_rates(node, price.hourly_usd).gpu_hour
    return monthly, per_gpu


def fitting_plan(
    inventory: Inventory,
    subjects: Sequence[Subject],
    operator: OperatorView,
    node_monthly_usd: Mapping[str, float],
    *,
    seed: int = 0,
    max_actions: int | None = MAX_ACTIONS,
) -> GpuPoolPlan | None:
    """The plan that saves the most in one instruction (if bounded), or the largest plan.

    Unbounded, the plan of the most subjects that can be carried out. Bounded, the plans of all
    the subjects, of the half that run the most replicas, of its half and so on are weighed: a
    plan too long for one instruction keeps its pools and moves and empties only the dearest
    nodes that fit (the others are emptied by a later analysis; their pods simply stay until
    then), and the one whose instruction empties the dearest nodes is chosen, since moving many
    workloads leaves less of the instruction for emptying nodes.
    """
    ranked = sorted(subjects, key=lambda s: (-s.advice.subject.replicas, workload_name(s)))
    best: GpuPoolPlan | None = None
    count = len(ranked)
    while count > 0:
        plan = plan_gpu_pools(inventory, ranked[:count], operator, node_monthly_usd, seed)
        if plan is not None and max_actions is None:
            return plan
        fitted = _within(plan, max_actions) if plan is not None and max_actions else None
        if fitted is not None and (
            best is None or fitted.monthly_saving_usd > best.monthly_saving_usd
        ):
            best = fitted
        count //= 2
    return best


def _within(plan: GpuPoolPlan, max_actions: int) -> GpuPoolPlan | None:
    """The plan with only as many emptied nodes as one change set holds, dearest first."""
    if _action_count(plan) <= max_actions:
        return plan
    spare = max_actions - _action_count(replace(plan, emptied=()))
    room = spare // EMPTIED_ACTIONS
    if room <= 0:
        return None
    kept = sorted(plan.emptied, key=lambda n: (-n.monthly_usd, n.node))[:room]
    later = {n.node for n in plan.emptied} - {n.node for n in kept}
    after = {
        node: {**entry, "mode": EMPTIED_LATER}
        if node in later and isinstance(entry, dict)
        else entry
        for node, entry in plan.gpu_map_after.items()
    }
    return replace(plan, emptied=tuple(kept), gpu_map_after=after)


def _action_count(plan: GpuPoolPlan) -> int:
    mig = sum(1 for p in plan.pools if p.kind.value == "mig")
    emptied = EMPTIED_ACTIONS * len(plan.emptied)
    return 3 + 5 * len(plan.pools) + mig + 2 * len(plan.moves) + emptied


def _reason(plan: GpuPoolPlan) -> str:
    kinds = sorted({p.kind.value for p in plan.pools})
    return (
        f"{len(plan.moves)} GPU workload(s) need only a share of a GPU (measured peak memory and "
        f"busiest-minutes duty cycle): packed by the placement engine into {len(plan.pools)} "
        f"pool node(s) ({', '.join(kinds)}), they leave {len(plan.emptied)} whole GPU node(s) "
        f"with {plan.gpus_freed} GPUs empty for the autoscaler to remove"
    )


def _evidence(
    snapshot: ClusterSnapshot, plan: GpuPoolPlan, operator: OperatorView
) -> dict[str, object]:
    found = _plan_evidence(plan, operator)
    if dra_ready(snapshot):
        found["dra"] = render_dra(plan).as_evidence()
    return found


def _plan_evidence(plan: GpuPoolPlan, operator: OperatorView) -> dict[str, object]:
    return {
        "nodes_emptied": [n.node for n in plan.emptied],
        "gpus_freed": plan.gpus_freed,
        "emptied_monthly_usd": {n.node: n.monthly_usd for n in plan.emptied},
        "pools": [
            {
                "node": p.node,
                "mode": p.kind.value,
                "label": f"{p.label}={p.value}",
                "replicas": dict(p.replicas),
                "evicted": list(p.evicted),
            }
            for p in plan.pools
        ],
        "moves": [
            {
                "workload": workload_name(m.subject),
                "mode": m.subject.advice.kind.value,
                "resource": m.resource,
                "selector": f"{m.label}={m.value}",
                "reason": m.subject.advice.reason,
                **m.subject.advice.evidence,
            }
            for m in plan.moves
        ],
        "waves": [{"pools": list(w.pools), "moves": list(w.moves)} for w in plan.waves],
        "mig_strategy": str(operator.mig_strategy),
        "gpu_map_before": dict(plan.gpu_map_before),
        "gpu_map_after": dict(plan.gpu_map_after),
    }


def plan_recommendation(
    snapshot: ClusterSnapshot,
    plan: GpuPoolPlan,
    operator: OperatorView,
    now: datetime,
) -> Recommendation:
    """The priced, explained recommendation carrying out `plan`."""
    risks = [m.subject.advice.risk for m in plan.moves]
    risk = max(risks, key=lambda r: _RISK_ORDER[r])
    computed_from = [
        ObjectVersion(
            kind=m.subject.workload.kind.value,
            namespace=m.subject.workload.namespace,
            name=m.subject.workload.name,
            resource_version=m.subject.workload.resource_version,
        )
        for m in plan.moves
        if m.subject.workload.resource_version
    ]
    notes = sorted({m.subject.advice.risk_note for m in plan.moves})
    return Recommendation(
        recommendation_id=recommendation_id(snapshot, RecommendationKind.GPU_SHARING, "gpu-pools"),
        cluster_id=snapshot.cluster.cluster_id,
        kind=RecommendationKind.GPU_SHARING,
        title=(
            f"Free {len(plan.emptied)} GPU node(s) ({plan.gpus_freed} GPUs) by sharing GPUs, "
            f"${plan.monthly_saving_usd:,.0f}/month"
        ),
        reason=_reason(plan)[:1024],
        evidence=_evidence(snapshot, plan, operator),  # type: ignore[arg-type]  # JSON-shaped by construction
        risk=risk,
        risk_note="; ".join(notes)[:1024],
        monthly_saving_usd=plan.monthly_saving_usd,
        change_set=pool_change_set(plan, operator),
        computed_from=computed_from,
        created_at=now,
    )


def recommend_gpu_pools(
    snapshot: ClusterSnapshot,
    profiles: Mapping[ContainerKey, GpuUsageProfile],
    pricebook: PriceBook,
    now: datetime,
    mig_config: MigConfig | None = None,
    *,
    seed: int = 0,
) -> list[Recommendation]:
    """The cluster's GPU sharing plan as one recommendation, or none when it empties no node.

    `mig_config` is the server's mounted mig-parted config, used when the agent reported none;
    `seed` seeds the placement engine's tie-breaks.
    """
    inventory = Inventory.build(snapshot)
    operator = read_operator(snapshot, mig_config)
    monthly, per_gpu = _prices(snapshot, pricebook)
    subjects = shareable_subjects(inventory, profiles, operator.mig_config, per_gpu)
    plan = fitting_plan(inventory, subjects, operator, monthly, seed=seed)
    if plan is None:
        return []
    return [plan_recommendation(snapshot, plan, operator, now)]
