"""Autoscaling recommendations composed from a snapshot and per-workload demand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from protocol.changes import ApplyHpa, ApplyScaledObject
from protocol.keda import KedaState, ScaledObjectTarget
from protocol.recommendation import Recommendation, RecommendationKind
from protocol.resources import GPU_RESOURCE
from protocol.snapshot import ClusterSnapshot, HorizontalPodAutoscaler, HpaMetric
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.recommend import keda_detected, recommend_autoscaling
from recommender.inventory import workload_ref
from tests.unit.recommender.autoscaling.series import daily, flat
from tests.unit.recommender.factories import (
    container,
    node,
    pod_of,
    pricebook,
    snapshot,
    spec,
    workload,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# Each pod requests one core, so demand in cores is demand in replicas at 100 %.
WEB = workload("web", replicas=8, template=spec(container("app", cpu=1000)))


def _snapshot(*, hpa_min: int | None = None) -> ClusterSnapshot:
    hpas = (
        [
            HorizontalPodAutoscaler(
                namespace="shop",
                name="web-hpa",
                target_kind="Deployment",
                target_name="web",
                min_replicas=hpa_min,
                max_replicas=20,
                metrics=[HpaMetric(type="Resource", name="cpu", target_utilization=70)],
            )
        ]
        if hpa_min is not None
        else []
    )
    pods = [pod_of(WEB, i, "a" if i % 2 else "b") for i in range(8)]
    return snapshot([node("a"), node("b")], pods, [WEB], hpas=hpas)


def _recommend(
    demand: DemandSeries, *, keda: bool = False, hpa_min: int | None = None
) -> list[Recommendation]:
    return recommend_autoscaling(
        _snapshot(hpa_min=hpa_min), {workload_ref(WEB): demand}, pricebook(), NOW, keda=keda
    )


def test_peak_sized_replicas_get_an_hpa_with_a_saving() -> None:
    """Eight fixed replicas for demand of 1..5 cores become an HPA that saves money."""
    [rec] = _recommend(daily(1.0, 5.0, 14))
    assert rec.kind is RecommendationKind.AUTOSCALING
    assert isinstance(rec.change_set.actions[0], ApplyHpa)
    assert rec.monthly_saving_usd > 0


def test_with_keda_the_daily_floor_is_a_scaled_object() -> None:
    """Where KEDA runs, the office-hours cycle becomes a ScaledObject with cron windows."""
    [rec] = _recommend(daily(1.0, 5.0, 14), keda=True)
    assert isinstance(rec.change_set.actions[0], ApplyScaledObject)


def test_the_evidence_charts_a_day_of_demand_and_capacity() -> None:
    """The day chart has 24 hourly points of demand, replicas and proposed capacity."""
    [rec] = _recommend(daily(1.0, 5.0, 14))
    day = rec.evidence["day"]
    assert isinstance(day, dict)
    for series in ("demand", "current_replicas", "proposed_replicas", "proposed_capacity"):
        points = day[series]
        assert isinstance(points, list)
        assert len(points) == 24


def test_a_floor_never_needed_is_retuned_on_the_existing_hpa() -> None:
    """An HPA with minReplicas 8 over demand of 1..5 cores is patched by its own name."""
    [rec] = _recommend(daily(1.0, 5.0, 14), hpa_min=8)
    action = rec.change_set.actions[0]
    assert isinstance(action, ApplyHpa)
    assert action.name == "web-hpa"
    assert action.spec.min_replicas < 8
    findings = rec.evidence["findings"]
    assert isinstance(findings, list)
    assert "min_too_high" in findings


def test_less_than_six_hours_of_history_gives_nothing() -> None:
    """Five hours of demand are not enough to advise on."""
    assert _recommend(flat(2.0, 5 / 24)) == []


def test_half_a_day_of_history_gets_an_hpa_without_a_schedule() -> None:
    """Twelve hours show no cycle: eight fixed replicas for 2 cores become an HPA alone."""
    [rec] = _recommend(flat(2.0, 0.5))
    [action] = rec.change_set.actions
    assert isinstance(action, ApplyHpa)
    assert "fewer replicas on average over 12 hours of demand" in rec.reason


def test_demand_that_needs_every_replica_gives_nothing() -> None:
    """Demand at the full eight replicas all the time leaves nothing to save."""
    assert _recommend(DemandSeries(0.0, 300.0, np.full(4032, 7.9))) == []


def test_keda_is_detected_from_the_hpas_it_creates() -> None:
    """An HPA named keda-hpa-<name> in the cluster means KEDA runs there."""
    keda_hpa = HorizontalPodAutoscaler(
        namespace="shop",
        name="keda-hpa-worker",
        target_kind="Deployment",
        target_name="worker",
        max_replicas=4,
    )
    cluster = _snapshot().model_copy(update={"hpas": [keda_hpa]})
    assert keda_detected(cluster)
    assert not keda_detected(_snapshot())


def test_keda_is_detected_from_the_scaled_objects_the_agent_lists() -> None:
    """A cluster that serves ScaledObjects runs KEDA, even before any ScaledObject exists."""
    served = _snapshot().model_copy(update={"keda": KedaState()})
    assert keda_detected(served)


def test_with_scaled_objects_served_a_gpu_free_daily_floor_becomes_a_scaled_object() -> None:
    """Detected from the agent's KEDA state, the office-hours floor is proposed as KEDA's."""
    served = _snapshot().model_copy(update={"keda": KedaState()})
    [rec] = recommend_autoscaling(
        served, {workload_ref(WEB): daily(1.0, 5.0, 14)}, pricebook(), NOW
    )
    assert isinstance(rec.change_set.actions[0], ApplyScaledObject)


def test_a_workload_a_scaled_object_targets_gets_no_advice() -> None:
    """A ScaledObject the agent listed already scales web: nothing is proposed beside it."""
    target = ScaledObjectTarget(namespace="shop", name="web", target_name="web")
    cluster = _snapshot().model_copy(update={"keda": KedaState(scaled_objects=[target])})
    found = recommend_autoscaling(
        cluster, {workload_ref(WEB): daily(1.0, 5.0, 14)}, pricebook(), NOW
    )
    assert found == []


def test_workloads_scaled_by_keda_are_left_to_keda() -> None:
    """KEDA's own HPA (keda-hpa-<name>) on the workload is not retuned."""
    keda_hpa = HorizontalPodAutoscaler(
        namespace="shop",
        name="keda-hpa-web",
        target_kind="Deployment",
        target_name="web",
        min_replicas=8,
        max_replicas=20,
        metrics=[HpaMetric(type="Resource", name="cpu", target_utilization=70)],
    )
    cluster = _snapshot().model_copy(update={"hpas": [keda_hpa]})
    demand = {workload_ref(WEB): daily(1.0, 5.0, 14)}
    assert recommend_autoscaling(cluster, demand, pricebook(), NOW) == []


def test_a_gpu_service_is_advised_on_its_gpu_demand() -> None:
    """Pods of one GPU each, with a daily GPU-duty cycle of 1..5 GPUs, get GPU-driven advice."""
    served = workload(
        "llm", replicas=8, template=spec(container("app", cpu=100, extended={GPU_RESOURCE: 1}))
    )
    pods = [pod_of(served, i, "a" if i % 2 else "b") for i in range(8)]
    cluster = snapshot(
        [
            node("a", gpus=8, instance_type="p3.16xlarge"),
            node("b", gpus=8, instance_type="p3.16xlarge"),
        ],
        pods,
        [served],
    )
    flat_cpu = flat(0.05, 14)

    [rec] = recommend_autoscaling(
        cluster,
        {workload_ref(served): flat_cpu},
        pricebook(),
        NOW,
        keda=False,
        gpu_demand={workload_ref(served): daily(1.0, 5.0, 14)},
    )

    assert rec.evidence["driver"] == "gpu"
    assert rec.evidence["capacity_per_replica"] == 1.0
    day = rec.evidence["day"]
    assert isinstance(day, dict)
    points = day["demand"]
    assert isinstance(points, list)
    assert max(v for v in points if isinstance(v, float)) > 4.0
