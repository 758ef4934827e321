"""Realised savings measured from cost allocation, before and after an applied change."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.instruction_signing import InstructionKeyring, generate_signing_key
from gateway.console.formatting import money
from gateway.console.instruction_issue import SignedInstructionIssuer
from protocol.changes import ActionType, ChangeSet, Scale, WorkloadRef
from protocol.instruction import ActionOutcome, InstructionResult, Outcome
from protocol.recommendation import Recommendation, RecommendationKind, Risk
from protocol.snapshot import WorkloadKind
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.console_decisions import Decision, DecisionRepository
from store.repositories.instructions import InstructionRepository
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from tests.integration.console.cost_seed import fold_cost_hours
from tests.integration.console.harness import get_json, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.console.test_console_pages import _signed_in
from tests.integration.gateway.harness import RunningGateway

ESTIMATE = 1500.0


async def _apply_scale_down(
    database: Database, tenant_id: uuid.UUID, cluster: ClusterView, *, applied_at: datetime
) -> uuid.UUID:
    """An approved, applied recommendation halving ml/llm-inference, as the product records it."""
    target = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="ml", name="llm-inference")
    rec = Recommendation(
        recommendation_id=uuid.uuid4(),
        cluster_id=cluster.id,
        kind=RecommendationKind.AUTOSCALING,
        workload=target,
        title="Scale ml/llm-inference to 2 replicas",
        reason="r",
        risk=Risk.LOW,
        monthly_saving_usd=ESTIMATE,
        confidence=0.8,
        change_set=ChangeSet(actions=[Scale(target=target, replicas=2)]),
        created_at=applied_at - timedelta(hours=1),
    )
    issuer = SignedInstructionIssuer(lambda: InstructionKeyring(current=generate_signing_key()))
    async with database.tenant(tenant_id) as session:
        await RecommendationRepository(session, tenant_id).replace_open(
            cluster.id,
            [
                NewRecommendation(
                    rec.recommendation_id,
                    rec.kind.value,
                    "autoscaling|ml/llm-inference|",
                    ESTIMATE,
                    rec.model_dump(mode="json"),
                    rec.created_at,
                )
            ],
            now=rec.created_at,
        )
        decided = await DecisionRepository(session, tenant_id).decide(
            rec.recommendation_id, Decision.APPROVE, actor="ops@example.com", now=rec.created_at
        )
        issued = await issuer.issue(
            session,
            tenant_id=tenant_id,
            recommendation=Recommendation.model_validate(decided.body),
            now=rec.created_at,
        )
        await InstructionRepository(session, tenant_id).record_result(
            InstructionResult(
                instruction_id=issued.id,
                cluster_id=cluster.id,
                outcome=Outcome.APPLIED,
                actions=[ActionOutcome(index=0, type=ActionType.SCALE, outcome=Outcome.APPLIED)],
                started_at=applied_at - timedelta(seconds=20),
                finished_at=applied_at,
                executor_version="0.1.0",
            ),
            now=applied_at,
        )
    return rec.recommendation_id


async def test_halving_a_workload_measures_half_its_cost_saved(
    console_gateway: RunningGateway, database: Database, seeded: SeededTenant
) -> None:
    """Four replicas for 3 h, then two: the measured saving is half the before run rate x 730."""
    now = datetime.now(UTC)
    boundary = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"realised-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    await fold_cost_hours(database, seeded.tenant_id, cluster.id, now=boundary, hours=3)
    await fold_cost_hours(
        database, seeded.tenant_id, cluster.id, now=now, hours=3, inference_replicas=2
    )
    recommendation_id = await _apply_scale_down(
        database, seeded.tenant_id, cluster, applied_at=boundary - timedelta(hours=1, minutes=-5)
    )
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    body = (await get_json(console_gateway, "/v1/console/cost/realised", token)).json()
    (item,) = [i for i in body["items"] if i["recommendation_id"] == str(recommendation_id)]
    assert "730" in body["method"]
    assert item["estimated_monthly_usd"] == ESTIMATE
    assert (item["hours_before"], item["hours_after"]) == (2.0, 3.0)
    assert item["after_hourly_usd"] == pytest.approx(item["before_hourly_usd"] / 2, rel=1e-3)
    assert item["measured_monthly_usd"] == pytest.approx(
        item["before_hourly_usd"] / 2 * 730, rel=1e-3
    )


async def test_overview_realised_card_shows_the_measured_figure_and_its_method(
    console_gateway: RunningGateway, database: Database, seeded: SeededTenant
) -> None:
    """The overview's Realised card is the measured drop in run rate, not the accrued estimate."""
    now = datetime.now(UTC)
    boundary = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"card-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    await fold_cost_hours(database, seeded.tenant_id, cluster.id, now=boundary, hours=3)
    await fold_cost_hours(
        database, seeded.tenant_id, cluster.id, now=now, hours=3, inference_replicas=2
    )
    await _apply_scale_down(
        database, seeded.tenant_id, cluster, applied_at=boundary - timedelta(hours=1, minutes=-5)
    )
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    body = (await get_json(console_gateway, "/v1/console/cost/realised", token)).json()
    measured = sum(i["measured_monthly_usd"] or 0.0 for i in body["items"])
    assert measured > 0
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        page = (await http.get("/console")).text
    card = re.search(r'data-figure="realised-measured">([^<]+)<', page)
    assert card is not None
    assert card.group(1) == money(measured)
    assert 'data-note="realised-method"' in page
    assert "measured on 1 applied change " in page


async def test_change_without_measured_hours_after_is_still_measuring(
    console_gateway: RunningGateway, database: Database, seeded: SeededTenant
) -> None:
    """Applied just now: the measured figure is unknown, not zero."""
    now = datetime.now(UTC)
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"fresh-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    await fold_cost_hours(database, seeded.tenant_id, cluster.id, now=now, hours=2)
    recommendation_id = await _apply_scale_down(database, seeded.tenant_id, cluster, applied_at=now)
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    body = (await get_json(console_gateway, "/v1/console/cost/realised", token)).json()
    (item,) = [i for i in body["items"] if i["recommendation_id"] == str(recommendation_id)]
    assert item["measured_monthly_usd"] is None
    assert item["hours_before"] == 2.0
