"""Priced rightsizing recommendations."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from protocol.changes import PatchResources, WorkloadRef
from protocol.recommendation import RecommendationKind, Risk
from protocol.snapshot import HorizontalPodAutoscaler, HpaMetric, WorkloadKind
from recommender.autoscaling.demand import DemandSeries
from recommender.cost.rates import split_node_price
from recommender.rightsizing.recommend import recommend_rightsizing
from recommender.usage.key import ContainerKey
from recommender.usage.state import ContainerUsageState
from tests.unit.recommender.factories import (
    GIB,
    MIB,
    container,
    node,
    pod_of,
    pricebook,
    snapshot,
    spec,
    workload,
)
from tests.unit.recommender.rightsizing.history import T0, end_of_history, steady

NOW = datetime.fromtimestamp(end_of_history(8), tz=UTC)
KEY = ContainerKey("shop", "Deployment", "web", "app")


def _cluster(hpa: bool = False, sidecar: bool = False, guaranteed: bool = False):  # type: ignore[no-untyped-def]
    app = container(
        cpu=2000,
        memory=2 * GIB,
        cpu_limit=2000 if guaranteed else None,
        memory_limit=2 * GIB if guaranteed else None,
    )
    parts = (
        [
            app,
            container(
                "sidecar",
                cpu=100,
                memory=128 * MIB,
                cpu_limit=100 if guaranteed else None,
                memory_limit=128 * MIB if guaranteed else None,
            ),
        ]
        if sidecar
        else [app]
    )
    web = workload("web", replicas=2, template=spec(*parts))
    hpas = (
        [
            HorizontalPodAutoscaler(
                namespace="shop",
                name="web",
                target_kind="Deployment",
                target_name="web",
                max_replicas=5,
                metrics=[HpaMetric(type="Resource", name="cpu", target_utilization=70)],
            )
        ]
        if hpa
        else []
    )
    return snapshot(
        [node("a"), node("b")], [pod_of(web, 0, "a"), pod_of(web, 1, "b")], [web], hpas=hpas
    )


def _states() -> dict[ContainerKey, ContainerUsageState]:
    return {KEY: steady(8)}


def test_saving_prices_released_cpu_and_memory_at_the_node_rates() -> None:
    """2 pods: 2000m -> 512m and 2 GiB -> 1364 MiB at a $0.192 node's core and GiB rates."""
    recs = recommend_rightsizing(_cluster(), _states(), pricebook(), NOW)
    rates = split_node_price(0.192, cores=4, memory_gib=16, gpus=0)
    per_pod = (2.0 - 0.512) * rates.cpu_core_hour + (2.0 - 1364 / 1024) * rates.memory_gib_hour
    assert len(recs) == 1
    assert recs[0].kind is RecommendationKind.RIGHTSIZING
    assert recs[0].monthly_saving_usd == pytest.approx(2 * per_pod * 730, abs=0.01)


def test_cpu_cut_on_a_gpu_node_is_worth_the_cpu_rate_only() -> None:
    """Shrinking CPU on a g5.48xlarge saves a sliver of its price, not a share of the GPUs."""
    web = workload("web", replicas=1, template=spec(container(cpu=2000, memory=2 * GIB)))
    gpu_node = node("g", cpu=192_000, memory=768 * GIB, gpus=8, instance_type="g5.48xlarge")
    cluster = snapshot([gpu_node], [pod_of(web, 0, "g")], [web])
    (rec,) = recommend_rightsizing(cluster, _states(), pricebook(), NOW)
    rates = split_node_price(16.288, cores=192, memory_gib=768, gpus=8)
    released = (2.0 - 0.512) * rates.cpu_core_hour + (2.0 - 1364 / 1024) * rates.memory_gib_hour
    share_of_whole_node = 16.288 * (2.0 - 0.512) / 192
    assert rec.monthly_saving_usd == pytest.approx(released * 730, abs=0.01)
    assert released < share_of_whole_node / 2


def test_change_set_patches_the_container_requests() -> None:
    """One PatchResources action setting 512m and 1364 MiB, pinned to the resourceVersion."""
    action = recommend_rightsizing(_cluster(), _states(), pricebook(), NOW)[0].change_set.actions[0]
    assert isinstance(action, PatchResources)
    patch = action.containers[0]
    assert (patch.container, patch.requests.cpu_millis, patch.requests.memory_bytes) == (
        "app",
        512,
        1364 * MIB,
    )
    assert action.precondition.resource_version == "42"


def test_cpu_hpa_makes_the_change_medium_risk() -> None:
    """An HPA on CPU utilisation reacts to a new request."""
    rec = recommend_rightsizing(_cluster(hpa=True), _states(), pricebook(), NOW)[0]
    assert rec.risk is Risk.MEDIUM
    assert "HPA" in rec.risk_note


def test_no_history_gives_no_recommendation() -> None:
    """Without a usage state nothing is recommended."""
    assert recommend_rightsizing(_cluster(), {}, pricebook(), NOW) == []


def test_guaranteed_pod_with_a_container_lacking_history_is_left_alone() -> None:
    """All containers of a Guaranteed pod move together or not at all."""
    assert (
        recommend_rightsizing(_cluster(sidecar=True, guaranteed=True), _states(), pricebook(), NOW)
        == []
    )


def test_burstable_pod_rightsizes_the_containers_it_knows() -> None:
    """The sidecar without history is left out; the app is patched."""
    rec = recommend_rightsizing(_cluster(sidecar=True), _states(), pricebook(), NOW)[0]
    action = rec.change_set.actions[0]
    assert isinstance(action, PatchResources)
    assert [c.container for c in action.containers] == ["app"]


def test_confidence_is_that_of_the_shortest_history() -> None:
    """A week or more of history gives full confidence."""
    assert recommend_rightsizing(_cluster(), _states(), pricebook(), NOW)[0].confidence == 1.0


def test_cpu_hpa_with_demand_history_sizes_the_request_hpa_aware() -> None:
    """Demand of 1.4 cores over 3 of max 5 replicas at a 70 % target asks 667m, not 512m."""
    web = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web")
    demand = {web: DemandSeries(T0, 300.0, np.full(8 * 288, 1.4))}
    rec = recommend_rightsizing(_cluster(hpa=True), _states(), pricebook(), NOW, demand=demand)[0]
    action = rec.change_set.actions[0]
    assert isinstance(action, PatchResources)
    assert action.containers[0].requests.cpu_millis == 667
