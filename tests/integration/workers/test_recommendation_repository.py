"""Recommendation repository: replacing open recommendations, decisions, tenant isolation."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from store.database import Database
from store.errors import ConflictError, NotFoundError
from store.repositories.clusters import ClusterView
from store.repositories.recommendations import (
    NewRecommendation,
    RecommendationRepository,
    RecommendationStatus,
)
from store.repositories.tenants import TenantView
from tests.unit.workers.factories import T0

LATER = T0 + timedelta(hours=1)


def _new(fingerprint: str, saving: float = 10.0) -> NewRecommendation:
    return NewRecommendation(
        id=uuid.uuid4(),
        kind="rightsizing",
        fingerprint=fingerprint,
        monthly_saving_usd=saving,
        body={"title": fingerprint, "saving": saving},
        created_at=T0,
    )


async def _replace(
    database: Database, tenant: TenantView, cluster: ClusterView, items: list[NewRecommendation]
) -> None:
    async with database.tenant(tenant.id) as session:
        await RecommendationRepository(session, tenant.id).replace_open(
            cluster.id, items, now=LATER
        )


async def _by_fingerprint(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> dict[str, tuple[RecommendationStatus, float, uuid.UUID]]:
    async with database.tenant(tenant.id) as session:
        views = await RecommendationRepository(session, tenant.id).list(cluster.id)
    return {v.fingerprint: (v.status, v.monthly_saving_usd, v.id) for v in views}


async def test_replace_updates_same_fingerprint_and_supersedes_the_rest(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """{a, b} then {a', c}: a keeps its id with the new saving, b is superseded, c is new."""
    await _replace(database, tenant, cluster, [_new("a"), _new("b")])
    first = await _by_fingerprint(database, tenant, cluster)
    await _replace(database, tenant, cluster, [_new("a", 25.0), _new("c")])
    second = await _by_fingerprint(database, tenant, cluster)
    assert second["a"] == (RecommendationStatus.OPEN, 25.0, first["a"][2])
    assert second["b"][0] is RecommendationStatus.SUPERSEDED
    assert second["c"][0] is RecommendationStatus.OPEN


async def test_updated_body_names_the_row_it_lives_in(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """After an update the body's recommendation_id is still the stored row's id."""
    await _replace(database, tenant, cluster, [_new("a")])
    await _replace(database, tenant, cluster, [_new("a", 30.0)])
    async with database.tenant(tenant.id) as session:
        [view] = await RecommendationRepository(session, tenant.id).list(cluster.id)
    assert view.body == {"title": "a", "saving": 30.0, "recommendation_id": str(view.id)}
    assert view.updated_at == LATER


async def test_decided_recommendations_are_left_alone(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """An approved one survives an analysis that no longer produces it; a new open one appears."""
    await _replace(database, tenant, cluster, [_new("a"), _new("b")])
    ids = await _by_fingerprint(database, tenant, cluster)
    async with database.tenant(tenant.id) as session:
        await RecommendationRepository(session, tenant.id).decide(
            ids["a"][2], RecommendationStatus.APPROVED, decided_by="ops@example.com", now=LATER
        )
    await _replace(database, tenant, cluster, [_new("b")])
    async with database.tenant(tenant.id) as session:
        approved = await RecommendationRepository(session, tenant.id).get(ids["a"][2])
        open_ones = await RecommendationRepository(session, tenant.id).list(
            cluster.id, status=RecommendationStatus.OPEN
        )
    assert approved.status is RecommendationStatus.APPROVED
    assert approved.decided_by == "ops@example.com"
    assert [v.fingerprint for v in open_ones] == ["b"]


async def test_deciding_twice_is_a_conflict(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A recommendation already approved cannot be rejected."""
    await _replace(database, tenant, cluster, [_new("a")])
    [(_, _, rec_id)] = (await _by_fingerprint(database, tenant, cluster)).values()
    async with database.tenant(tenant.id) as session:
        repository = RecommendationRepository(session, tenant.id)
        await repository.decide(rec_id, RecommendationStatus.APPROVED, decided_by="a", now=LATER)
        with pytest.raises(ConflictError):
            await repository.decide(
                rec_id, RecommendationStatus.REJECTED, decided_by="b", now=LATER
            )


async def test_duplicate_fingerprints_in_one_analysis_are_refused(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Two items with one fingerprint are a programming error, not two rows."""
    with pytest.raises(ValueError, match="fingerprint"):
        await _replace(database, tenant, cluster, [_new("a"), _new("a")])


async def test_open_summary_counts_and_sums_open_ones_only(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Open 10 + 32.5 sum to 42.5 over two; the superseded one is not counted."""
    await _replace(database, tenant, cluster, [_new("a"), _new("gone", 99.0)])
    await _replace(database, tenant, cluster, [_new("a"), _new("b", 32.5)])
    async with database.tenant(tenant.id) as session:
        [summary] = await RecommendationRepository(session, tenant.id).open_summary()
    assert (summary.cluster_id, summary.count, summary.monthly_saving_usd) == (cluster.id, 2, 42.5)


async def test_recommendations_are_invisible_to_other_tenants(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant cannot get, list, summarise, decide or supersede this tenant's rows."""
    await _replace(database, tenant, cluster, [_new("a")])
    [(_, _, rec_id)] = (await _by_fingerprint(database, tenant, cluster)).values()
    async with database.tenant(other_tenant.id) as session:
        repository = RecommendationRepository(session, other_tenant.id)
        with pytest.raises(NotFoundError):
            await repository.get(rec_id)
        with pytest.raises(NotFoundError):
            await repository.decide(
                rec_id, RecommendationStatus.APPROVED, decided_by="x", now=LATER
            )
        assert await repository.list(cluster.id) == []
        assert await repository.open_summary() == []
        outcome = await repository.replace_open(cluster.id, [], now=LATER)
    assert outcome.superseded == []
    assert (await _by_fingerprint(database, tenant, cluster))["a"][0] is RecommendationStatus.OPEN


async def test_created_recommendation_keeps_its_status(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """`create` stores one row with the given status and id."""
    item = _new("spot-evacuation:node-a")
    async with database.tenant(tenant.id) as session:
        view = await RecommendationRepository(session, tenant.id).create(
            cluster.id, item, status=RecommendationStatus.APPROVED
        )
    assert (view.id, view.status) == (item.id, RecommendationStatus.APPROVED)
    assert view.body["recommendation_id"] == str(item.id)


async def test_replace_of_some_kinds_leaves_open_ones_of_other_kinds(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """An empty rightsizing replacement keeps an open spot-evacuation recommendation open."""
    evacuation = NewRecommendation(
        id=uuid.uuid4(),
        kind="spot-evacuation",
        fingerprint="spot-evacuation:node-a",
        monthly_saving_usd=0.0,
        body={},
        created_at=T0,
    )
    async with database.tenant(tenant.id) as session:
        repository = RecommendationRepository(session, tenant.id)
        await repository.create(cluster.id, evacuation)
        await repository.create(cluster.id, _new("a"))
        outcome = await repository.replace_open(cluster.id, [], now=LATER, kinds={"rightsizing"})
        still_open = await repository.list(cluster.id, status=RecommendationStatus.OPEN)
    assert len(outcome.superseded) == 1
    assert [v.kind for v in still_open] == ["spot-evacuation"]


async def test_recomputed_id_of_a_decided_recommendation_gets_a_fresh_row(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Re-offering an id that was approved stores a new open row beside the approved one."""
    item = _new("a")
    await _replace(database, tenant, cluster, [item])
    async with database.tenant(tenant.id) as session:
        repository = RecommendationRepository(session, tenant.id)
        await repository.decide(item.id, RecommendationStatus.APPROVED, decided_by="a", now=LATER)
        outcome = await repository.replace_open(cluster.id, [item], now=LATER)
        approved = await repository.get(item.id)
    assert approved.status is RecommendationStatus.APPROVED
    assert len(outcome.created) == 1
    assert outcome.created[0] != item.id


async def test_other_tenant_cannot_create_over_a_recommendation(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Creating a row with this tenant's recommendation id as another tenant is refused."""
    item = _new("a")
    async with database.tenant(tenant.id) as session:
        await RecommendationRepository(session, tenant.id).create(cluster.id, item)
    with pytest.raises(IntegrityError):
        async with database.tenant(other_tenant.id) as session:
            await RecommendationRepository(session, other_tenant.id).create(
                cluster.id, replace(item, body={"hijacked": True})
            )
    async with database.tenant(tenant.id) as session:
        view = await RecommendationRepository(session, tenant.id).get(item.id)
    assert view.body == {"title": "a", "saving": 10.0, "recommendation_id": str(item.id)}
