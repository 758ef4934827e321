"""Spot evacuations expire at their notice deadline: not approvable after it, marked expired."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auth.provisioning import Provisioning
from protocol.changes import ChangeSet, Cordon
from protocol.recommendation import Recommendation, RecommendationKind, Risk
from store.database import Database
from store.repositories.audit import AuditRepository
from store.repositories.clusters import ClusterRepository
from store.repositories.console_decisions import Decision, DecisionRepository
from store.repositories.recommendation_expiry import (
    RecommendationExpiredError,
    expire_past_deadline,
)
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from store.repositories.tenants import TenantView
from tests.integration.console.harness import bearer, sign_in
from tests.integration.console.seed import PASSWORD
from tests.integration.gateway.harness import RunningGateway

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _evacuation_body(cluster_id: uuid.UUID, rec_id: uuid.UUID, expires_at: datetime) -> Any:
    return Recommendation(
        recommendation_id=rec_id,
        cluster_id=cluster_id,
        kind=RecommendationKind.SPOT_EVACUATION,
        node="spot-a",
        title="Evacuate spot node spot-a before it is reclaimed",
        reason="termination notice: 2 pod(s) must move; 2 fit on other nodes",
        evidence={"protects": "2 pods of 1 workload moved off spot-a"},
        risk=Risk.LOW,
        monthly_saving_usd=0.0,
        change_set=ChangeSet(actions=[Cordon(node="spot-a")]),
        created_at=expires_at - timedelta(minutes=2),
        expires_at=expires_at,
    ).model_dump(mode="json")


async def _evacuation(database: Database, tenant_id: uuid.UUID, expires_at: datetime) -> uuid.UUID:
    rec_id = uuid.uuid4()
    async with database.tenant(tenant_id) as session:
        cluster = await ClusterRepository(session, tenant_id).create(f"c-{rec_id.hex[:6]}")
        await RecommendationRepository(session, tenant_id).create(
            cluster.id,
            NewRecommendation(
                rec_id,
                RecommendationKind.SPOT_EVACUATION.value,
                f"evacuate:{rec_id}",
                0.0,
                _evacuation_body(cluster.id, rec_id, expires_at),
                expires_at - timedelta(minutes=2),
            ),
        )
    return rec_id


async def _status(database: Database, tenant_id: uuid.UUID, rec_id: uuid.UUID) -> str:
    async with database.tenant(tenant_id) as session:
        return (await RecommendationRepository(session, tenant_id).get(rec_id)).status.value


async def test_an_evacuation_is_approvable_before_its_deadline(
    database: Database, tenant: TenantView
) -> None:
    """One second before the deadline the approval goes through."""
    rec_id = await _evacuation(database, tenant.id, NOW)
    async with database.tenant(tenant.id) as session:
        decided = await DecisionRepository(session, tenant.id).decide(
            rec_id, Decision.APPROVE, actor="ana@example.com", now=NOW - timedelta(seconds=1)
        )
    assert decided.status == "approved"


async def test_an_evacuation_past_its_deadline_cannot_be_approved(
    database: Database, tenant: TenantView
) -> None:
    """At the deadline the approval is refused and the recommendation stays undecided."""
    rec_id = await _evacuation(database, tenant.id, NOW)
    with pytest.raises(RecommendationExpiredError, match="expired"):
        async with database.tenant(tenant.id) as session:
            await DecisionRepository(session, tenant.id).decide(
                rec_id, Decision.APPROVE, actor="ana@example.com", now=NOW
            )
    assert await _status(database, tenant.id, rec_id) == "open"


async def test_expiry_marks_only_evacuations_past_their_deadline(
    database: Database, tenant: TenantView
) -> None:
    """Past the deadline: expired and audited; before it: still open."""
    past = await _evacuation(database, tenant.id, NOW - timedelta(seconds=1))
    future = await _evacuation(database, tenant.id, NOW + timedelta(minutes=1))
    async with database.tenant(tenant.id) as session:
        expired = await expire_past_deadline(session, tenant.id, now=NOW)
        [entry] = await AuditRepository(session, tenant.id).list(subject_id=str(past))
    assert expired == [past]
    assert await _status(database, tenant.id, past) == "expired"
    assert await _status(database, tenant.id, future) == "open"
    assert entry.action == "recommendation.expired"


async def test_expiry_leaves_other_tenants_alone(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Expiring in one tenant never touches another tenant's past-deadline evacuation."""
    theirs = await _evacuation(database, other_tenant.id, NOW - timedelta(minutes=1))
    async with database.tenant(tenant.id) as session:
        expired = await expire_past_deadline(session, tenant.id, now=NOW)
    assert expired == []
    assert await _status(database, other_tenant.id, theirs) == "open"


async def test_approving_an_expired_evacuation_is_a_conflict_and_expires_it(
    console_gateway: RunningGateway,
    database: Database,
    provisioning: Provisioning,
    tenant: TenantView,
) -> None:
    """The console API answers 409 and the recommendation reads as expired afterwards."""
    email = f"approver-{uuid.uuid4().hex[:8]}@example.com"
    await provisioning.create_user(tenant.id, email, "approver", actor="seed", password=PASSWORD)
    rec_id = await _evacuation(database, tenant.id, datetime.now(UTC) - timedelta(seconds=5))
    token = await sign_in(console_gateway, email, PASSWORD)
    async with console_gateway.client() as http:
        response = await http.post(
            f"/v1/console/recommendations/{rec_id}/approve", headers=bearer(token), json={}
        )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert await _status(database, tenant.id, rec_id) == "expired"
