"""Decisions on recommendations: one each, snoozes end in the future, tenants stay apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from store.database import Database
from store.errors import ConflictError, NotFoundError
from store.repositories.clusters import ClusterRepository
from store.repositories.console_decisions import Decision, DecisionRepository
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from store.repositories.tenants import TenantView

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def _open_recommendation(database: Database, tenant: TenantView) -> uuid.UUID:
    rec_id = uuid.uuid4()
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(f"c-{rec_id.hex[:6]}")
        await RecommendationRepository(session, tenant.id).create(
            cluster.id,
            NewRecommendation(rec_id, "spot", f"spot:{rec_id}", 120.0, {"title": "t"}, NOW),
        )
    return rec_id


async def _decide(
    database: Database,
    tenant: TenantView,
    rec_id: uuid.UUID,
    decision: Decision,
    *,
    snooze_until: datetime | None = None,
) -> str:
    async with database.tenant(tenant.id) as session:
        decided = await DecisionRepository(session, tenant.id).decide(
            rec_id,
            decision,
            actor="ana@example.com",
            now=NOW,
            comment="ok",
            snooze_until=snooze_until,
        )
    return decided.status


async def test_approval_records_who_when_and_why(database: Database, tenant: TenantView) -> None:
    """The row carries the approver, the time, the comment and the previous status."""
    rec_id = await _open_recommendation(database, tenant)
    async with database.tenant(tenant.id) as session:
        decided = await DecisionRepository(session, tenant.id).decide(
            rec_id, Decision.APPROVE, actor="ana@example.com", now=NOW, comment="go"
        )
        stored = await RecommendationRepository(session, tenant.id).get(rec_id)
    assert (decided.status, decided.previous_status, decided.comment) == ("approved", "open", "go")
    assert (stored.decided_by, stored.decided_at) == ("ana@example.com", NOW)


async def test_second_decision_conflicts(database: Database, tenant: TenantView) -> None:
    """Once rejected, a recommendation cannot be approved."""
    rec_id = await _open_recommendation(database, tenant)
    await _decide(database, tenant, rec_id, Decision.REJECT)
    with pytest.raises(ConflictError):
        await _decide(database, tenant, rec_id, Decision.APPROVE)


async def test_snoozed_recommendation_can_still_be_approved(
    database: Database, tenant: TenantView
) -> None:
    """Snoozing hides a recommendation; it does not take the decision away."""
    rec_id = await _open_recommendation(database, tenant)
    assert (
        await _decide(
            database, tenant, rec_id, Decision.SNOOZE, snooze_until=NOW + timedelta(days=7)
        )
        == "snoozed"
    )
    assert await _decide(database, tenant, rec_id, Decision.APPROVE) == "approved"


async def test_snooze_must_end_in_the_future(database: Database, tenant: TenantView) -> None:
    """A snooze ending now is refused."""
    rec_id = await _open_recommendation(database, tenant)
    with pytest.raises(ValueError, match="future"):
        await _decide(database, tenant, rec_id, Decision.SNOOZE, snooze_until=NOW)


async def test_approval_takes_no_snooze_end(database: Database, tenant: TenantView) -> None:
    """Only a snooze names an end."""
    rec_id = await _open_recommendation(database, tenant)
    with pytest.raises(ValueError, match="snooze"):
        await _decide(
            database, tenant, rec_id, Decision.APPROVE, snooze_until=NOW + timedelta(days=1)
        )


async def test_other_tenant_cannot_decide(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Another tenant's recommendation is not found, and stays open."""
    rec_id = await _open_recommendation(database, tenant)
    with pytest.raises(NotFoundError):
        await _decide(database, other_tenant, rec_id, Decision.APPROVE)
    async with database.tenant(tenant.id) as session:
        stored = await RecommendationRepository(session, tenant.id).get(rec_id)
    assert stored.status == "open"
