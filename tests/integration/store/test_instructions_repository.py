"""InstructionRepository: approval, at-least-once delivery, idempotent results, expiry, RLS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.instruction_signing import generate_signing_key, instruction_body_for, sign_instruction
from protocol.changes import ChangeSet, Cordon, Drain
from protocol.instruction import Instruction, InstructionResult, Outcome
from store.database import Database
from store.errors import ConflictError, NotFoundError
from store.repositories.clusters import ClusterRepository
from store.repositories.instructions import InstructionRepository, InstructionStatus
from store.repositories.tenants import TenantView
from store.tables import RecommendationRecord

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = generate_signing_key()


async def _cluster(database: Database, tenant: TenantView) -> uuid.UUID:
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(f"c-{uuid.uuid4().hex[:6]}")
    return cluster.id


async def _recommendation(
    database: Database, tenant: TenantView, cluster_id: uuid.UUID
) -> uuid.UUID:
    rec_id = uuid.uuid4()
    async with database.tenant(tenant.id) as session:
        session.add(
            RecommendationRecord(
                id=rec_id,
                tenant_id=tenant.id,
                cluster_id=cluster_id,
                kind="consolidation",
                status="approved",
                fingerprint=f"consolidation/{rec_id}",
                monthly_saving_usd=12.5,
                body={},
                created_at=NOW,
            )
        )
    return rec_id


def _instruction(
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    *,
    issued_at: datetime = NOW,
    ttl: timedelta = timedelta(minutes=30),
    recommendation_id: uuid.UUID | None = None,
) -> Instruction:
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node="gpu-1"), Drain(node="gpu-1")]),
        tenant_id=tenant_id,
        cluster_id=cluster_id,
        issued_at=issued_at,
        ttl=ttl,
        recommendation_id=recommendation_id,
    )
    return sign_instruction(body, KEY.private_key, KEY.key_id)


def _result(instruction: Instruction, outcome: Outcome = Outcome.APPLIED) -> InstructionResult:
    return InstructionResult(
        instruction_id=instruction.body.instruction_id,
        cluster_id=instruction.body.cluster_id,
        outcome=outcome,
        reason="done",
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=5),
    )


async def _store(database: Database, tenant: TenantView, instruction: Instruction) -> None:
    async with database.tenant(tenant.id) as session:
        await InstructionRepository(session, tenant.id).create_approved(
            instruction, approved_at=NOW
        )


async def test_created_instruction_keeps_its_signed_envelope(
    database: Database, tenant: TenantView
) -> None:
    """The stored envelope parses back to the identical signed instruction, approved."""
    cluster_id = await _cluster(database, tenant)
    rec_id = await _recommendation(database, tenant, cluster_id)
    instruction = _instruction(tenant.id, cluster_id, recommendation_id=rec_id)
    await _store(database, tenant, instruction)
    async with database.tenant(tenant.id) as session:
        view = await InstructionRepository(session, tenant.id).get(instruction.body.instruction_id)
    assert view.instruction == instruction
    assert view.status is InstructionStatus.APPROVED
    assert view.recommendation_id == rec_id
    assert view.expires_at == NOW + timedelta(minutes=30)
    assert (view.delivery_count, view.delivered_at, view.result) == (0, None, None)


async def test_instruction_signed_for_another_tenant_is_not_stored(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """An envelope naming another tenant cannot be stored under this one."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(other_tenant.id, cluster_id)
    with pytest.raises(ConflictError, match="another tenant"):
        await _store(database, tenant, instruction)


async def test_next_deliverable_marks_delivery_and_redelivers_until_result(
    database: Database, tenant: TenantView
) -> None:
    """Delivery is counted; without a result it is handed out again after the redelivery delay."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(tenant.id, cluster_id)
    await _store(database, tenant, instruction)
    wait = timedelta(seconds=60)
    async with database.tenant(tenant.id) as session:
        repo = InstructionRepository(session, tenant.id)
        first = await repo.next_deliverable(cluster_id, now=NOW, redeliver_after=wait)
        too_soon = await repo.next_deliverable(
            cluster_id, now=NOW + timedelta(seconds=59), redeliver_after=wait
        )
        again = await repo.next_deliverable(
            cluster_id, now=NOW + timedelta(seconds=60), redeliver_after=wait
        )
    assert [v.id for v in first] == [instruction.body.instruction_id]
    assert first[0].delivery_count == 1
    assert too_soon == []
    assert [(v.delivery_count, v.delivered_at) for v in again] == [(2, NOW + timedelta(seconds=60))]


async def test_completed_instruction_is_not_delivered_again(
    database: Database, tenant: TenantView
) -> None:
    """Once a result is recorded the instruction leaves the delivery queue."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(tenant.id, cluster_id)
    await _store(database, tenant, instruction)
    async with database.tenant(tenant.id) as session:
        repo = InstructionRepository(session, tenant.id)
        await repo.next_deliverable(cluster_id, now=NOW)
        view, stored = await repo.record_result(_result(instruction), now=NOW)
        later = await repo.next_deliverable(
            cluster_id, now=NOW + timedelta(minutes=5), redeliver_after=timedelta(0)
        )
    assert stored is True
    assert view.status is InstructionStatus.COMPLETED
    assert view.outcome is Outcome.APPLIED
    assert later == []


async def test_expired_instruction_is_not_delivered(database: Database, tenant: TenantView) -> None:
    """An instruction whose expiry has passed is never handed out."""
    cluster_id = await _cluster(database, tenant)
    await _store(database, tenant, _instruction(tenant.id, cluster_id, ttl=timedelta(minutes=1)))
    async with database.tenant(tenant.id) as session:
        repo = InstructionRepository(session, tenant.id)
        delivered = await repo.next_deliverable(cluster_id, now=NOW + timedelta(minutes=1))
    assert delivered == []


async def test_delivery_is_oldest_first_and_per_cluster(
    database: Database, tenant: TenantView
) -> None:
    """Instructions come out in issue order and only for the polling cluster."""
    cluster_a = await _cluster(database, tenant)
    cluster_b = await _cluster(database, tenant)
    newer = _instruction(tenant.id, cluster_a, issued_at=NOW + timedelta(seconds=10))
    older = _instruction(tenant.id, cluster_a, issued_at=NOW)
    elsewhere = _instruction(tenant.id, cluster_b)
    for instruction in (newer, older, elsewhere):
        await _store(database, tenant, instruction)
    async with database.tenant(tenant.id) as session:
        delivered = await InstructionRepository(session, tenant.id).next_deliverable(
            cluster_a, now=NOW + timedelta(seconds=20)
        )
    assert [v.id for v in delivered] == [older.body.instruction_id, newer.body.instruction_id]


async def test_same_result_twice_is_a_no_op(database: Database, tenant: TenantView) -> None:
    """Reporting an identical result again stores nothing new and keeps the first completion."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(tenant.id, cluster_id)
    await _store(database, tenant, instruction)
    async with database.tenant(tenant.id) as session:
        repo = InstructionRepository(session, tenant.id)
        _, first = await repo.record_result(_result(instruction), now=NOW)
        view, second = await repo.record_result(
            _result(instruction), now=NOW + timedelta(minutes=1)
        )
    assert (first, second) == (True, False)
    assert view.completed_at == NOW


async def test_different_second_result_conflicts(database: Database, tenant: TenantView) -> None:
    """A result that differs from the recorded one is refused."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(tenant.id, cluster_id)
    await _store(database, tenant, instruction)
    async with database.tenant(tenant.id) as session:
        repo = InstructionRepository(session, tenant.id)
        await repo.record_result(_result(instruction), now=NOW)
        with pytest.raises(ConflictError, match="different result"):
            await repo.record_result(_result(instruction, Outcome.REFUSED), now=NOW)


async def test_result_for_another_cluster_conflicts(database: Database, tenant: TenantView) -> None:
    """A result naming a cluster other than the instruction's is refused."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(tenant.id, cluster_id)
    await _store(database, tenant, instruction)
    wrong = _result(instruction).model_copy(update={"cluster_id": uuid.uuid4()})
    async with database.tenant(tenant.id) as session:
        with pytest.raises(ConflictError, match="another cluster"):
            await InstructionRepository(session, tenant.id).record_result(wrong, now=NOW)


async def test_list_filters_by_cluster_and_status(database: Database, tenant: TenantView) -> None:
    """Listing narrows to one cluster and one status, newest first."""
    cluster_id = await _cluster(database, tenant)
    done = _instruction(tenant.id, cluster_id, issued_at=NOW)
    waiting = _instruction(tenant.id, cluster_id, issued_at=NOW + timedelta(seconds=1))
    await _store(database, tenant, done)
    await _store(database, tenant, waiting)
    async with database.tenant(tenant.id) as session:
        repo = InstructionRepository(session, tenant.id)
        await repo.record_result(_result(done), now=NOW)
        everything = await repo.list(cluster_id=cluster_id)
        approved = await repo.list(cluster_id=cluster_id, status=InstructionStatus.APPROVED)
    assert [v.id for v in everything] == [waiting.body.instruction_id, done.body.instruction_id]
    assert [v.id for v in approved] == [waiting.body.instruction_id]


async def test_expire_marks_only_overdue_approved_instructions(
    database: Database, tenant: TenantView
) -> None:
    """Expiry touches approved instructions past their expiry, not completed or current ones."""
    cluster_id = await _cluster(database, tenant)
    overdue = _instruction(tenant.id, cluster_id, ttl=timedelta(minutes=1))
    current = _instruction(tenant.id, cluster_id, ttl=timedelta(hours=1))
    finished = _instruction(tenant.id, cluster_id, ttl=timedelta(minutes=1))
    for instruction in (overdue, current, finished):
        await _store(database, tenant, instruction)
    async with database.tenant(tenant.id) as session:
        repo = InstructionRepository(session, tenant.id)
        await repo.record_result(_result(finished), now=NOW)
        count = await repo.expire(now=NOW + timedelta(minutes=2))
        statuses = {v.id: v.status for v in await repo.list(cluster_id=cluster_id)}
    assert count == 1
    assert statuses == {
        overdue.body.instruction_id: InstructionStatus.EXPIRED,
        current.body.instruction_id: InstructionStatus.APPROVED,
        finished.body.instruction_id: InstructionStatus.COMPLETED,
    }


async def test_other_tenant_cannot_get_list_or_receive_instructions(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Another tenant's get, list and delivery see nothing of this tenant's instructions."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(tenant.id, cluster_id)
    await _store(database, tenant, instruction)
    async with database.tenant(other_tenant.id) as session:
        repo = InstructionRepository(session, other_tenant.id)
        with pytest.raises(NotFoundError):
            await repo.get(instruction.body.instruction_id)
        listed = await repo.list()
        delivered = await repo.next_deliverable(cluster_id, now=NOW)
    assert (listed, delivered) == ([], [])
    async with database.tenant(tenant.id) as session:
        view = await InstructionRepository(session, tenant.id).get(instruction.body.instruction_id)
    assert view.delivery_count == 0


async def test_other_tenant_cannot_record_result_or_expire(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Another tenant can neither complete nor expire this tenant's instruction."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(tenant.id, cluster_id, ttl=timedelta(minutes=1))
    await _store(database, tenant, instruction)
    async with database.tenant(other_tenant.id) as session:
        repo = InstructionRepository(session, other_tenant.id)
        with pytest.raises(NotFoundError):
            await repo.record_result(_result(instruction), now=NOW)
        expired = await repo.expire(now=NOW + timedelta(hours=1))
    assert expired == 0
    async with database.tenant(tenant.id) as session:
        view = await InstructionRepository(session, tenant.id).get(instruction.body.instruction_id)
    assert (view.status, view.result) == (InstructionStatus.APPROVED, None)


async def test_other_tenant_cannot_store_into_this_tenants_cluster(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Storing an instruction for a cluster of another tenant fails (the cluster is invisible)."""
    cluster_id = await _cluster(database, tenant)
    instruction = _instruction(other_tenant.id, cluster_id)
    with pytest.raises(NotFoundError, match="cluster"):
        await _store(database, other_tenant, instruction)


async def test_other_tenant_cannot_point_at_this_tenants_recommendation(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """An instruction cannot reference a recommendation another tenant owns."""
    cluster_id = await _cluster(database, tenant)
    rec_id = await _recommendation(database, tenant, cluster_id)
    own_cluster = await _cluster(database, other_tenant)
    instruction = _instruction(other_tenant.id, own_cluster, recommendation_id=rec_id)
    with pytest.raises(NotFoundError, match="recommendation"):
        await _store(database, other_tenant, instruction)
