"""The console's read-side queries: filters, sorting, paging, health, spend; tenants stay apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from store.database import Database
from store.errors import NotFoundError
from store.repositories.cluster_costs import ClusterCostRepository
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.console_decisions import Decision, DecisionRepository
from store.repositories.console_instructions import InstructionQueries
from store.repositories.console_paging import PageRequest
from store.repositories.console_queries import (
    ConsoleQueries,
    RecommendationFilter,
    RecommendationSort,
)
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from tests.integration.store.advanced_clusters import advance_cluster

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def _cluster(database: Database, tenant: TenantView, name: str) -> ClusterView:
    async with database.tenant(tenant.id) as session:
        return await ClusterRepository(session, tenant.id).create(name)


async def _recommend(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    *,
    kind: str,
    saving: float,
    title: str,
    risk: str = "low",
    created: datetime = NOW,
) -> uuid.UUID:
    rec_id = uuid.uuid4()
    body = {
        "title": title,
        "risk": risk,
        "workload": {
            "kind": "Deployment",
            "namespace": "shop",
            "name": title.rsplit(maxsplit=1)[-1],
        },
    }
    async with database.tenant(tenant.id) as session:
        await RecommendationRepository(session, tenant.id).create(
            cluster.id,
            NewRecommendation(rec_id, kind, f"{kind}:{rec_id}", saving, body, created),
        )
    return rec_id


async def _list(
    database: Database, tenant: TenantView, criteria: RecommendationFilter, page: PageRequest
) -> list[tuple[str, float]]:
    async with database.tenant(tenant.id) as session:
        found = await ConsoleQueries(session, tenant.id).recommendations(criteria, page, now=NOW)
    return [(r.title, r.monthly_saving_usd) for r in found.items]


async def test_filters_by_kind_and_minimum_saving(database: Database, tenant: TenantView) -> None:
    """Only right-sizings saving at least $100, largest first."""
    cluster = await _cluster(database, tenant, "prod")
    for kind, saving, title in [
        ("rightsizing", 50.0, "rs web"),
        ("rightsizing", 150.0, "rs api"),
        ("rightsizing", 400.0, "rs db"),
        ("spot", 900.0, "spot batch"),
    ]:
        await _recommend(database, tenant, cluster, kind=kind, saving=saving, title=title)
    found = await _list(
        database,
        tenant,
        RecommendationFilter(kind="rightsizing", min_saving_usd=100.0),
        PageRequest(),
    )
    assert found == [("rs db", 400.0), ("rs api", 150.0)]


async def test_filters_by_cluster(database: Database, tenant: TenantView) -> None:
    """A cluster filter leaves the other cluster's recommendations out."""
    prod, staging = (
        await _cluster(database, tenant, "prod"),
        await _cluster(database, tenant, "stg"),
    )
    await _recommend(database, tenant, prod, kind="spot", saving=10.0, title="a x")
    await _recommend(database, tenant, staging, kind="spot", saving=20.0, title="b y")
    found = await _list(
        database, tenant, RecommendationFilter(cluster_id=staging.id), PageRequest()
    )
    assert found == [("b y", 20.0)]


async def test_sorts_by_risk_then_saving(database: Database, tenant: TenantView) -> None:
    """Lowest risk first; within a risk, the larger saving first."""
    cluster = await _cluster(database, tenant, "prod")
    for risk, saving in [("high", 900.0), ("low", 10.0), ("medium", 50.0), ("low", 30.0)]:
        await _recommend(
            database, tenant, cluster, kind="spot", saving=saving, title=f"{risk} w", risk=risk
        )
    found = await _list(
        database, tenant, RecommendationFilter(sort=RecommendationSort.RISK_ASC), PageRequest()
    )
    assert [saving for _, saving in found] == [30.0, 10.0, 50.0, 900.0]


async def test_sorts_newest_first(database: Database, tenant: TenantView) -> None:
    """`-created` puts the most recent recommendation first."""
    cluster = await _cluster(database, tenant, "prod")
    for hours in (3, 1, 2):
        await _recommend(
            database,
            tenant,
            cluster,
            kind="spot",
            saving=float(hours),
            title=f"h {hours}",
            created=NOW - timedelta(hours=hours),
        )
    found = await _list(
        database, tenant, RecommendationFilter(sort=RecommendationSort.NEWEST), PageRequest()
    )
    assert [title for title, _ in found] == ["h 1", "h 2", "h 3"]


async def test_pages_cover_every_row_once(database: Database, tenant: TenantView) -> None:
    """130 rows in pages of 50: 50, 50, 30, with no row twice."""
    cluster = await _cluster(database, tenant, "prod")
    for index in range(130):
        await _recommend(
            database,
            tenant,
            cluster,
            kind="rightsizing",
            saving=float(index % 7),
            title=f"w {index}",
        )
    pages = []
    for number in (1, 2, 3):
        async with database.tenant(tenant.id) as session:
            pages.append(
                await ConsoleQueries(session, tenant.id).recommendations(
                    RecommendationFilter(), PageRequest(number, 50), now=NOW
                )
            )
    assert [len(p.items) for p in pages] == [50, 50, 30]
    assert {p.total for p in pages} == {130}
    assert pages[0].pages == 3
    assert len({r.id for p in pages for r in p.items}) == 130


async def test_search_matches_title_and_treats_wildcards_literally(
    database: Database, tenant: TenantView
) -> None:
    """`100%` finds the title containing it and not the one without."""
    cluster = await _cluster(database, tenant, "prod")
    await _recommend(database, tenant, cluster, kind="spot", saving=1.0, title="cut 100% idle")
    await _recommend(database, tenant, cluster, kind="spot", saving=2.0, title="cut 1000 idle")
    found = await _list(database, tenant, RecommendationFilter(search="100%"), PageRequest())
    assert found == [("cut 100% idle", 1.0)]


async def test_expired_snooze_reads_as_open(database: Database, tenant: TenantView) -> None:
    """A snooze that ran out counts as open again; a live one only as snoozed."""
    cluster = await _cluster(database, tenant, "prod")
    expired = await _recommend(database, tenant, cluster, kind="spot", saving=1.0, title="e x")
    live = await _recommend(database, tenant, cluster, kind="spot", saving=2.0, title="l y")
    async with database.tenant(tenant.id) as session:
        decisions = DecisionRepository(session, tenant.id)
        for rec_id, until in ((expired, NOW - timedelta(hours=1)), (live, NOW + timedelta(days=3))):
            await decisions.decide(
                rec_id,
                Decision.SNOOZE,
                actor="a@example.com",
                now=until - timedelta(days=7),
                snooze_until=until,
            )
    open_now = await _list(database, tenant, RecommendationFilter(status="open"), PageRequest())
    snoozed = await _list(database, tenant, RecommendationFilter(status="snoozed"), PageRequest())
    assert (open_now, snoozed) == ([("e x", 1.0)], [("l y", 2.0)])


async def test_cluster_overview_health_spend_and_open_savings(
    database: Database, tenant: TenantView
) -> None:
    """Healthy within five minutes; newest price; open count and saving per cluster."""
    fresh, stale = (
        await _cluster(database, tenant, "a-fresh"),
        await _cluster(database, tenant, "b-stale"),
    )
    async with database.tenant(tenant.id) as session:
        snapshots = SnapshotRepository(session, tenant.id)
        for cluster, minutes in ((fresh, 4), (stale, 6)):
            taken_at = NOW - timedelta(minutes=minutes)
            await advance_cluster(snapshots, cluster.id, None, taken_at=taken_at, agent_version="1")
        costs = ClusterCostRepository(session, tenant.id)
        await costs.record(
            fresh.id, computed_at=NOW - timedelta(days=2), monthly_cost_usd=900, node_count=3
        )
        await costs.record(
            fresh.id, computed_at=NOW - timedelta(days=1), monthly_cost_usd=1200.5, node_count=4
        )
    await _recommend(database, tenant, fresh, kind="spot", saving=100.25, title="s a")
    await _recommend(database, tenant, fresh, kind="spot", saving=50.0, title="s b")
    async with database.tenant(tenant.id) as session:
        queries = ConsoleQueries(session, tenant.id)
        page = await queries.clusters(PageRequest(), now=NOW)
        totals = await queries.totals(now=NOW)
    a, b = page.items
    assert (a.healthy, a.open_count, a.open_saving_usd, a.monthly_cost_usd, a.node_count) == (
        True,
        2,
        150.25,
        1200.5,
        4,
    )
    assert (b.healthy, b.open_count, b.monthly_cost_usd) == (False, 0, None)
    assert (totals.cluster_count, totals.healthy_count, totals.monthly_cost_usd) == (2, 1, 1200.5)
    assert (totals.open_count, totals.open_saving_usd) == (2, 150.25)


async def test_clusters_page_through_hundreds(database: Database, tenant: TenantView) -> None:
    """230 clusters in pages of 50: page 5 holds the last 30, by name."""
    async with database.tenant(tenant.id) as session:
        repository = ClusterRepository(session, tenant.id)
        for index in range(230):
            await repository.create(f"c-{index:03d}")
    async with database.tenant(tenant.id) as session:
        page = await ConsoleQueries(session, tenant.id).clusters(PageRequest(5, 50), now=NOW)
    assert (page.total, page.pages, len(page.items)) == (230, 5, 30)
    assert (page.items[0].name, page.items[-1].name) == ("c-200", "c-229")


async def test_other_tenant_sees_none_of_it(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Lists are empty, totals are zero and a direct look-up is not found."""
    cluster = await _cluster(database, tenant, "prod")
    rec_id = await _recommend(database, tenant, cluster, kind="spot", saving=5.0, title="mine x")
    async with database.tenant(other_tenant.id) as session:
        queries = ConsoleQueries(session, other_tenant.id)
        listed = await queries.recommendations(RecommendationFilter(), PageRequest(), now=NOW)
        clusters = await queries.clusters(PageRequest(), now=NOW)
        totals = await queries.totals(now=NOW)
        names = await queries.cluster_names()
        instructions = await InstructionQueries(session, other_tenant.id).instructions(
            PageRequest(), cluster_id=cluster.id
        )
        usage = await queries.workload_usage(cluster.id, "shop", "Deployment", "x")
        with pytest.raises(NotFoundError):
            await queries.recommendation(rec_id, now=NOW)
    assert (listed.total, clusters.total, names, instructions.total, usage) == (0, 0, [], 0, [])
    assert (totals.cluster_count, totals.open_count, totals.open_saving_usd) == (0, 0, 0.0)


async def test_cluster_filter_naming_another_tenants_cluster_finds_nothing(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Guessing another tenant's cluster id does not reveal its recommendations."""
    cluster = await _cluster(database, tenant, "prod")
    await _recommend(database, tenant, cluster, kind="spot", saving=5.0, title="mine x")
    found = await _list(
        database, other_tenant, RecommendationFilter(cluster_id=cluster.id), PageRequest()
    )
    assert found == []
