"""Savings counted once, in the real database: the headline sums groups, not recommendations."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bench.snapshots.trace import read_trace_nodes, read_trace_pods
from demo.data import DEFAULT_DATA, DemoData
from demo.fleet import FleetSpec, build_fleet
from demo.replay import snapshot_of
from demo.samples import UsageModel
from demo.series import read_patterns
from protocol.changes import ChangeSet, Drain, PatchScheduling, WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind, Risk, SavingBasis
from protocol.snapshot import WorkloadKind
from protocol.topics import SnapshotMessage
from recommender.fingerprint import fingerprint
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from recommender.savings.alternatives import headline_saving, saving_groups, workloads_by_node
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.console_paging import PageRequest
from store.repositories.console_queries import ConsoleQueries
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from store.repositories.saving_groups import SavingGroupRepository
from store.repositories.tenants import TenantView
from tests.unit.workers.factories import shop_snapshot
from workers.cost_rollup import CostRollup
from workers.ingest.handler import SnapshotIngest
from workers.tasks.analysis_job import analyse_and_store

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WEB0 = "workload:shop/Deployment/web0"


def workload_recommendation(
    cluster: ClusterView,
    kind: RecommendationKind,
    saving: float,
    workload: str,
    confidence: float,
    *,
    basis: SavingBasis = SavingBasis.DIRECT,
) -> Recommendation:
    ref = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name=workload)
    return Recommendation(
        recommendation_id=uuid.uuid4(),
        cluster_id=cluster.id,
        kind=kind,
        workload=ref,
        title=f"{kind.value} {workload}",
        reason="r",
        risk=Risk.LOW,
        monthly_saving_usd=saving,
        confidence=confidence,
        saving_basis=basis,
        change_set=ChangeSet(actions=[PatchScheduling(target=ref, node_selector={"a": "b"})]),
        created_at=NOW,
    )


async def store_advice(
    database: Database,
    tenant_id: uuid.UUID,
    recs: Sequence[Recommendation],
    groups: Mapping[uuid.UUID, str],
    *,
    now: datetime = NOW,
) -> None:
    """Store `recs` as their clusters' open advice, each in its group, as the analysis does."""
    async with database.tenant(tenant_id) as session:
        for cluster_id in {r.cluster_id for r in recs}:
            mine = [r for r in recs if r.cluster_id == cluster_id]
            await RecommendationRepository(session, tenant_id).replace_open(
                cluster_id,
                [
                    NewRecommendation(
                        r.recommendation_id,
                        r.kind.value,
                        fingerprint(r),
                        r.monthly_saving_usd,
                        r.model_dump(mode="json"),
                        now,
                    )
                    for r in mine
                ],
                now=now,
            )
            await SavingGroupRepository(session, tenant_id).replace(
                cluster_id, {fingerprint(r): groups[r.recommendation_id] for r in mine}
            )


async def test_two_recommendations_on_one_workload_are_counted_once(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """GPU sharing and spot for web0 count as the better one; web1's spot advice adds to it."""
    recs = [
        workload_recommendation(cluster, RecommendationKind.GPU_SHARING, 800.0, "web0", 0.5),
        workload_recommendation(cluster, RecommendationKind.SPOT, 500.0, "web0", 0.9),
        workload_recommendation(cluster, RecommendationKind.SPOT, 70.0, "web1", 0.8),
    ]
    groups = saving_groups(recs)
    await store_advice(database, tenant.id, recs, groups)
    async with database.tenant(tenant.id) as session:
        queries = ConsoleQueries(session, tenant.id)
        totals = await queries.totals(now=NOW)
        (row,) = (await queries.clusters(PageRequest(1, 10), now=NOW)).items
    # Spot's 500 x 0.9 = 450 expected beats GPU sharing's 800 x 0.5 = 400.
    assert totals.open_count == 3
    assert totals.open_saving_usd == pytest.approx(570.0)
    assert row.open_saving_usd == pytest.approx(570.0)


async def test_node_removal_savings_count_only_through_a_consolidation(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """web0's request cut joins the drain of its node and counts as the drain; web1's alone, $0."""
    resize = workload_recommendation(
        cluster, RecommendationKind.RIGHTSIZING, 900.0, "web0", 1.0, basis=SavingBasis.NODE_REMOVAL
    )
    lone = workload_recommendation(
        cluster, RecommendationKind.RIGHTSIZING, 70.0, "web1", 1.0, basis=SavingBasis.NODE_REMOVAL
    )
    drain = resize.model_copy(
        update={
            "recommendation_id": uuid.uuid4(),
            "kind": RecommendationKind.CONSOLIDATION,
            "workload": None,
            "node": "n1",
            "monthly_saving_usd": 400.0,
            "saving_basis": SavingBasis.DIRECT,
            "change_set": ChangeSet(actions=[Drain(node="n1")]),
        }
    )
    recs = [resize, lone, drain]
    groups = saving_groups(recs, {"n1": {"workload:shop/Deployment/web0"}})
    assert groups[resize.recommendation_id] == groups[drain.recommendation_id]
    await store_advice(database, tenant.id, recs, groups)
    async with database.tenant(tenant.id) as session:
        totals = await ConsoleQueries(session, tenant.id).totals(now=NOW)
    assert totals.open_saving_usd == pytest.approx(400.0)


async def _store(
    database: Database, tenant: TenantView, cluster: ClusterView, recs: list[Recommendation]
) -> float:
    """Store `recs` as the cluster's open advice with their groups; the headline it gets."""
    groups = saving_groups(recs, {"n1": {WEB0}, "n2": {WEB0}})
    await store_advice(database, tenant.id, recs, groups)
    async with database.tenant(tenant.id) as session:
        return (await ConsoleQueries(session, tenant.id).totals(now=NOW)).open_saving_usd


def _drain(
    cluster: ClusterView, node: str, saving: float, confidence: float = 1.0
) -> Recommendation:
    return workload_recommendation(
        cluster, RecommendationKind.CONSOLIDATION, saving, "web0", confidence
    ).model_copy(
        update={"workload": None, "node": node, "change_set": ChangeSet(actions=[Drain(node=node)])}
    )


async def test_a_sequence_of_drains_counts_its_combined_effect(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """web0's request cut frees n1 and n2, drained one after the other: $400 + $300, as the
    recommender counts it, not the $900 estimate of the cut added on top."""
    resize = workload_recommendation(
        cluster, RecommendationKind.RIGHTSIZING, 900.0, "web0", 1.0, basis=SavingBasis.NODE_REMOVAL
    )
    recs = [resize, _drain(cluster, "n1", 400.0), _drain(cluster, "n2", 300.0)]
    headline = await _store(database, tenant, cluster, recs)
    assert headline == pytest.approx(700.0)
    assert headline == pytest.approx(headline_saving(recs, {"n1": {WEB0}, "n2": {WEB0}}))


async def test_an_alternative_better_than_the_sequence_is_counted_alone(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Spot for web0 ($1,000 at 90 %) beats draining its nodes ($700 at 100 %): $1,000 counts."""
    spot = workload_recommendation(cluster, RecommendationKind.SPOT, 1000.0, "web0", 0.9)
    recs = [spot, _drain(cluster, "n1", 400.0), _drain(cluster, "n2", 300.0)]
    headline = await _store(database, tenant, cluster, recs)
    assert headline == pytest.approx(1000.0)
    assert headline == pytest.approx(headline_saving(recs, {"n1": {WEB0}, "n2": {WEB0}}))


async def test_a_sequence_is_weighed_by_the_request_cut_it_assumed(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Draining web0's nodes ($700) needs its request cut, 20 % sure ($140 expected): spot for
    web0 ($300 at 90 %, $270 expected) is counted instead, as the recommender decides."""
    resize = workload_recommendation(
        cluster, RecommendationKind.RIGHTSIZING, 900.0, "web0", 0.2, basis=SavingBasis.NODE_REMOVAL
    )
    spot = workload_recommendation(cluster, RecommendationKind.SPOT, 300.0, "web0", 0.9)
    recs = [resize, spot, _drain(cluster, "n1", 400.0), _drain(cluster, "n2", 300.0)]
    headline = await _store(database, tenant, cluster, recs)
    assert headline == pytest.approx(300.0)
    assert headline == pytest.approx(headline_saving(recs, {"n1": {WEB0}, "n2": {WEB0}}))


async def test_groups_are_per_tenant(
    database: Database, tenant: TenantView, cluster: ClusterView, other_tenant: TenantView
) -> None:
    """Another tenant neither reads the cluster's groups nor may write them."""
    async with database.tenant(tenant.id) as session:
        await SavingGroupRepository(session, tenant.id).replace(cluster.id, {"f": "g"})
    async with database.tenant(other_tenant.id) as session:
        theirs = SavingGroupRepository(session, other_tenant.id)
        assert await theirs.groups(cluster.id) == {}
    async with database.tenant(tenant.id) as session:
        assert await SavingGroupRepository(session, tenant.id).groups(cluster.id) == {"f": "g"}


async def test_analysis_stores_groups_and_headline_is_their_sum(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """After an analysis the headline equals the sum over groups of the stored advice."""
    await SnapshotIngest(database).apply(
        SnapshotMessage(tenant_id=tenant.id, received_at=NOW, snapshot=shop_snapshot(cluster.id, 1))
    )
    pricebook = PriceBook(bundled_catalogues(), bundled_spot_advisor())
    await analyse_and_store(database, pricebook, tenant.id, cluster.id, now=NOW)
    async with database.tenant(tenant.id) as session:
        stored = await RecommendationRepository(session, tenant.id).list(cluster.id)
        groups = await SavingGroupRepository(session, tenant.id).groups(cluster.id)
        totals = await ConsoleQueries(session, tenant.id).totals(now=NOW)
    recs = [Recommendation.model_validate(r.body) for r in stored if r.status == "open"]
    assert recs
    assert set(groups) == {fingerprint(r) for r in recs}
    snapshot = shop_snapshot(cluster.id, 1)
    assert totals.open_saving_usd == pytest.approx(
        headline_saving(recs, workloads_by_node(snapshot)), abs=0.01
    )


DEMO = DemoData.under(DEFAULT_DATA)


@pytest.mark.skipif(bool(DEMO.missing()), reason=f"demo traces not under {DEFAULT_DATA}")
async def test_demo_headline_equals_the_sum_over_groups(
    database: Database, tenant: TenantView
) -> None:
    """A 150-pod demo cluster, 6 replayed hours: the headline is the groups' sum, not the total."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(
            "demo-gpu-cluster", provider="aws", region="us-east-1"
        )
    spec = FleetSpec(cluster_id=cluster.id, pod_count=150)
    fleet = build_fleet(read_trace_nodes(DEMO.nodes), read_trace_pods(DEMO.pods), spec, NOW)
    model = UsageModel(fleet, read_patterns(DEMO.vms, DEMO.genai))
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    for hour in range(6, 0, -1):
        taken_at = NOW - timedelta(hours=hour - 1)
        times = [taken_at - timedelta(minutes=5 * k) for k in range(11, -1, -1)]
        snapshot = snapshot_of(fleet, taken_at, model.sample(times, 300))
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant.id, received_at=taken_at, snapshot=snapshot)
        )
    pricebook = PriceBook(bundled_catalogues(), bundled_spot_advisor())
    await analyse_and_store(database, pricebook, tenant.id, cluster.id, now=NOW)
    async with database.tenant(tenant.id) as session:
        stored = await RecommendationRepository(session, tenant.id).list(cluster.id)
        totals = await ConsoleQueries(session, tenant.id).totals(now=NOW)
    recs = [Recommendation.model_validate(r.body) for r in stored if r.status == "open"]
    naive = sum(r.monthly_saving_usd for r in recs)
    on_nodes = workloads_by_node(snapshot_of(fleet, NOW, model.sample([], 300)))
    assert totals.open_saving_usd == pytest.approx(headline_saving(recs, on_nodes), abs=0.05)
    # The demo has workloads with more than one recommendation: the plain sum claims more.
    assert totals.open_saving_usd < naive - 1.0
