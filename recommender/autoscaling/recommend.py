"""Autoscaling recommendations for a snapshot: add an HPA (or a KEDA schedule), or retune one.

For every Deployment or StatefulSet with at least `MIN_ADVICE_SECONDS` (six hours) of demand
history, the plan (an HPA plus a replica-floor schedule; below a day of history the reference HPA
alone) is replayed over the history beside what runs today (the fixed replica count, or the
existing HPA replayed with its own spec). Demand is the workload's GPU duty (GPUs busy, capacity
the GPUs a pod requests) where its pods request GPUs and DCGM reported on them, and its CPU usage
otherwise. The saving is the difference in mean replicas times what one pod costs: its share of
its node's price.

GPU-driven advice needs KEDA to scale on GPU duty (`gpu_scaling`); without it the HPA scales on
CPU over a GPU-forecast floor, and the saving replays exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pydantic import JsonValue

from protocol.autoscaling import PrometheusTrigger
from protocol.changes import WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind, Risk, SavingBasis
from protocol.snapshot import ClusterSnapshot, HorizontalPodAutoscaler, Workload, WorkloadKind
from recommender.autoscaling.change_sets import ObservedBounds, autoscaling_change_set
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.evidence import day_chart, pattern_evidence
from recommender.autoscaling.gpu_scaling import (
    DEFAULT_PROMETHEUS_ADDRESS,
    cpu_hpa_with_gpu_floor,
    cpu_with_gpu_floor_evidence,
    floor_coverage,
    gpu_scaling_evidence,
    gpu_signal,
    gpu_trigger,
    keda_gpu_plan,
)
from recommender.autoscaling.hpa_advice import ObservedHpa, retune_hpa
from recommender.autoscaling.hpa_algorithm import HpaSettings, Replay, replay_fixed, replay_hpa
from recommender.autoscaling.pattern import DAY
from recommender.autoscaling.plan import AutoscalingPlan, replay_plan
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.selection import choose_plan
from recommender.autoscaling.sizing import hpa_aware_request
from recommender.cost.node_rates import pod_hourly_usd as requested_hourly_usd
from recommender.inventory import (
    Inventory,
    recommendation_id,
    workload_ref,
    workload_version,
)
from recommender.pricing.cost import (
    gpu_equivalents,
    monthly_usd,
    pod_requests,
    price_node,
)
from recommender.pricing.pricebook import PriceBook

SCALED_KINDS = frozenset({WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET})
HOUR = 3600.0
MIN_ADVICE_SECONDS = 6 * HOUR
"""Below this much history nothing is advised; below a day, the reference HPA alone."""
MIN_MONTHLY_SAVING_USD = 1.0

WorkloadDemand = Mapping[WorkloadRef, DemandSeries]
"""Demand (cores, or GPUs busy, summed over replicas) per workload."""


@dataclass(frozen=True, slots=True)
class Driver:
    """The resource whose demand sizes a workload's replicas, and what one replica serves."""

    resource: str
    demand: DemandSeries
    capacity: float
    cpu: DemandSeries | None = None
    """CPU demand beside GPU demand (what an HPA on CPU would see)."""
    cores: float = 0.0
    """The cores one replica requests."""


def driver_of(
    workload: Workload, cpu: DemandSeries | None, gpu: DemandSeries | None
) -> Driver | None:
    """GPU duty for a workload whose pods request GPUs and have GPU demand, else CPU."""
    requests = pod_requests(workload.template)
    gpus = gpu_equivalents(requests)
    cores = (requests.cpu_millis or 0) / 1000
    if gpus > 0 and gpu is not None and gpu.values.size:
        return Driver("gpu", gpu, gpus, cpu, cores)
    if cpu is None or cores <= 0:
        return None
    return Driver("cpu", cpu, cores, cpu, cores)


def pod_hourly_usd(workload: Workload, inventory: Inventory, pricebook: PriceBook) -> float:
    """What one running pod of the workload costs an hour (mean over its priced pods)."""
    costs = []
    for pod in inventory.pods_of(workload):
        node = inventory.nodes.get(pod.node_name or "")
        price = price_node(node, inventory.snapshot.cluster, pricebook) if node else None
        if node is not None and price is not None:
            costs.append(requested_hourly_usd(pod.spec, node, price.hourly_usd, pod.labels))
    return float(np.mean(costs)) if costs else 0.0


KEDA_HPA_PREFIX = "keda-hpa-"
"""KEDA names the HPA it creates for a ScaledObject `keda-hpa-<name>`."""


def keda_detected(snapshot: ClusterSnapshot) -> bool:
    """Whether the cluster runs KEDA: it serves ScaledObjects (the agent could list them), or
    it has HPAs KEDA created for its ScaledObjects (agents that do not read ScaledObjects)."""
    if snapshot.keda is not None:
        return True
    return any(hpa.name.startswith(KEDA_HPA_PREFIX) for hpa in snapshot.hpas)


def scaled_by_keda(workload: Workload, snapshot: ClusterSnapshot) -> bool:
    """Whether a ScaledObject the agent reported scales the workload (KEDA owns its replicas)."""
    if snapshot.keda is None:
        return False
    return any(
        (so.namespace, so.target_kind, so.target_name)
        == (workload.namespace, workload.kind.value, workload.name)
        for so in snapshot.keda.scaled_objects
    )


def hpa_of(workload: Workload, snapshot: ClusterSnapshot) -> HorizontalPodAutoscaler | None:
    """The HPA that scales the workload, if any."""
    for hpa in snapshot.hpas:
        if (hpa.namespace, hpa.target_kind, hpa.target_name) == (
            workload.namespace,
            workload.kind.value,
            workload.name,
        ):
            return hpa
    return None


def _current(
    workload: Workload, hpa: HorizontalPodAutoscaler | None, demand: DemandSeries, capacity: float
) -> tuple[Replay, ObservedHpa | None]:
    """What runs today, replayed over the history."""
    if hpa is None:
        replicas = np.full(demand.values.size, max(1, workload.replicas or 1), dtype=np.int64)
        return replay_fixed(demand, replicas), None
    target = next((m.target_utilization for m in hpa.metrics if m.name == "cpu"), None) or 80
    settings = HpaSettings(
        target_utilisation=target / 100,
        min_replicas=max(1, hpa.min_replicas),
        max_replicas=max(1, hpa.max_replicas),
    )
    replay = replay_hpa(demand, capacity, settings)
    per_step = max(1, round(demand.step_seconds / replay.tick_seconds))
    observed = ObservedHpa(
        target_utilisation=settings.target_utilisation,
        min_replicas=settings.min_replicas,
        max_replicas=settings.max_replicas,
        scale_down_stabilisation_seconds=settings.scale_down_stabilisation_seconds,
        replicas=replay.replicas[::per_step],
    )
    return replay, observed


@dataclass(frozen=True, slots=True)
class _Proposal:
    """The plan to propose, its replay over the history, and how GPU demand is scaled on."""

    plan: AutoscalingPlan
    replay: Replay
    trigger: PrometheusTrigger | None = None
    scaling: dict[str, JsonValue] | None = None
    note: str = ""


def _propose(
    plan: AutoscalingPlan,
    driver: Driver,
    ref: WorkloadRef,
    policy: ScalingPolicy,
    *,
    keda: bool,
    prometheus_address: str,
) -> _Proposal | None:
    """`plan` as it can run in the cluster: GPU-driven plans need KEDA or become a CPU HPA."""
    if driver.resource != "gpu":
        return _Proposal(plan, replay_plan(plan, driver.demand, driver.capacity))
    if keda:
        plan = keda_gpu_plan(plan, policy)
        trigger = gpu_trigger(
            ref, plan.hpa.target_utilisation, prometheus_address, plan.signal, driver.capacity
        )
        return _Proposal(
            plan,
            replay_plan(plan, driver.demand, driver.capacity),
            trigger,
            gpu_scaling_evidence(trigger),
            "; KEDA scales it on its pods' mean GPU utilisation from the DCGM exporter",
        )
    if driver.cpu is None or driver.cores <= 0:
        # An HPA on CPU utilisation needs CPU requests and CPU demand to act on.
        return None
    on_cpu = cpu_hpa_with_gpu_floor(plan, driver.demand, driver.capacity, policy)
    coverage = floor_coverage(on_cpu, driver.demand, driver.capacity)
    return _Proposal(
        on_cpu,
        replay_plan(on_cpu, driver.cpu, driver.cores),
        scaling=cpu_with_gpu_floor_evidence(coverage.short_share),
        note=(
            "; without KEDA the HPA scales on CPU over a GPU-forecast floor, "
            "and the saving replays exactly that"
        ),
    )


def _span(seconds: float) -> str:
    """A history's length in days, or in hours below two days."""
    return f"{seconds / DAY:.0f} days" if seconds >= 2 * DAY else f"{seconds / HOUR:.0f} hours"


def recommend_autoscaling_for(
    workload: Workload,
    driver: Driver,
    inventory: Inventory,
    pricebook: PriceBook,
    now: datetime,
    *,
    policy: ScalingPolicy,
    keda: bool,
    prometheus_address: str = DEFAULT_PROMETHEUS_ADDRESS,
) -> Recommendation | None:
    """The autoscaling recommendation of one workload, or None.

    `prometheus_address` is where KEDA queries GPU utilisation for GPU-driven advice.
    """
    demand, capacity = driver.demand, driver.capacity
    history = demand.values.size * demand.step_seconds
    if workload.kind not in SCALED_KINDS or capacity <= 0 or history < MIN_ADVICE_SECONDS:
        return None
    snapshot = inventory.snapshot
    hpa = hpa_of(workload, snapshot)
    if scaled_by_keda(workload, snapshot) or (
        hpa is not None
        and (
            hpa.name.startswith(KEDA_HPA_PREFIX)
            or driver.resource != "cpu"
            or not any(m.name == "cpu" for m in hpa.metrics)
        )
    ):
        # KEDA owns what a ScaledObject scales (another autoscaler would fight its HPA, and it
        # would undo a retune), and an HPA on another metric than CPU cannot be replayed from
        # CPU demand.
        return None
    current, observed = _current(workload, hpa, demand, capacity)
    # KEDA scales a GPU service on the policy's signal: its candidates are judged on it too.
    signal = gpu_signal(policy) if keda and driver.resource == "gpu" else None
    plan: AutoscalingPlan = choose_plan(demand, capacity, policy, driver.resource, signal)
    evidence: dict[str, JsonValue] = {}
    if observed is not None and hpa is not None:
        retune = retune_hpa(demand, observed, capacity, policy)
        if retune is None:
            return None
        plan = AutoscalingPlan(hpa=retune.proposal, schedule=plan.schedule)
        sized = hpa_aware_request(
            demand,
            target_utilisation=retune.proposal.target_utilisation,
            max_replicas=retune.proposal.max_replicas,
        )
        evidence = {
            "findings": [f.value for f in retune.findings],
            "scale_events_per_hour": round(retune.scale_events_per_hour, 2),
            "hpa_aware_request_cpu_millis": round(sized.request * 1000),
        }
    ref = workload_ref(workload)
    proposal = _propose(plan, driver, ref, policy, keda=keda, prometheus_address=prometheus_address)
    if proposal is None:
        return None
    plan, proposed = proposal.plan, proposal.replay
    evidence.update(proposal.scaling or {})
    saved_replicas = float(current.replicas.mean() - proposed.replicas.mean())
    saving = monthly_usd(saved_replicas * pod_hourly_usd(workload, inventory, pricebook))
    if saving < MIN_MONTHLY_SAVING_USD:
        return None
    change_set = autoscaling_change_set(
        plan,
        ref,
        keda=keda,
        existing_hpa=ObservedBounds(hpa.name, hpa.min_replicas, hpa.max_replicas) if hpa else None,
        gpu=proposal.trigger,
    )
    subject = f"{workload.kind.value}/{workload.namespace}/{workload.name}"
    return Recommendation(
        recommendation_id=recommendation_id(snapshot, RecommendationKind.AUTOSCALING, subject),
        cluster_id=snapshot.cluster.cluster_id,
        kind=RecommendationKind.AUTOSCALING,
        workload=workload_ref(workload),
        title=f"{change_set.summary} ({workload.namespace})",
        reason=(
            f"{saved_replicas:.1f} fewer replicas on average over "
            f"{_span(history)} of demand, at no fewer when demand peaks" + proposal.note
        ),
        evidence={
            **evidence,
            "pattern": pattern_evidence(plan.schedule.forecast.pattern),
            "day": day_chart(
                demand, current, proposed, capacity, "GPUs" if driver.resource == "gpu" else "cores"
            ),
            "driver": driver.resource,
            "capacity_per_replica": capacity,
        },
        risk=Risk.MEDIUM if hpa is None else Risk.LOW,
        risk_note="a new autoscaler changes replica counts under load" if hpa is None else "",
        monthly_saving_usd=round(saving, 2),
        confidence=round(min(1.0, history / (14 * DAY)), 3),
        saving_basis=SavingBasis.NODE_REMOVAL,
        change_set=change_set,
        computed_from=[workload_version(workload)],
        created_at=now,
    )


def recommend_autoscaling(
    snapshot: ClusterSnapshot,
    demand: WorkloadDemand,
    pricebook: PriceBook,
    now: datetime,
    *,
    keda: bool | None = None,
    policy: ScalingPolicy | None = None,
    gpu_demand: WorkloadDemand | None = None,
    prometheus_address: str | None = None,
) -> list[Recommendation]:
    """Autoscaling recommendations for every workload with demand history, largest first.

    `demand` is CPU demand, `gpu_demand` GPU-duty demand; `keda` says whether the cluster runs
    KEDA (None detects it from the snapshot); `prometheus_address` is the Prometheus KEDA
    queries for GPU utilisation (None: `DEFAULT_PROMETHEUS_ADDRESS`).
    """
    inventory = Inventory.build(snapshot)
    with_keda = keda_detected(snapshot) if keda is None else keda
    chosen = policy or ScalingPolicy()
    found = []
    for workload in snapshot.workloads:
        ref = workload_ref(workload)
        driver = driver_of(workload, demand.get(ref), (gpu_demand or {}).get(ref))
        if driver is None:
            continue
        rec = recommend_autoscaling_for(
            workload,
            driver,
            inventory,
            pricebook,
            now,
            policy=chosen,
            keda=with_keda,
            prometheus_address=prometheus_address or DEFAULT_PROMETHEUS_ADDRESS,
        )
        if rec is not None:
            found.append(rec)
    return sorted(found, key=lambda r: -r.monthly_saving_usd)
