"""Signed instructions of the current tenant: approval, at-least-once delivery, results, expiry.

An instruction is stored approved, with its signed envelope. It is delivered to its cluster's
executor until a result arrives or it expires: every delivery stamps `delivered_at` and counts,
but an instruction without a result is handed out again after `redeliver_after`, because the
executor may have crashed or lost the answer. Recording a result is idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from protocol.instruction import Instruction, InstructionResult, Outcome
from store.errors import ConflictError, NotFoundError
from store.tables import Cluster, InstructionRecord, RecommendationRecord

DEFAULT_REDELIVER_AFTER = timedelta(seconds=60)


class InstructionStatus(StrEnum):
    """Where an instruction stands."""

    APPROVED = "approved"
    """Waiting to be delivered, or delivered and waiting for a result."""
    COMPLETED = "completed"
    """The executor reported a result."""
    EXPIRED = "expired"
    """No result arrived before it expired."""


@dataclass(frozen=True)
class InstructionView:
    """One stored instruction and what became of it."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    recommendation_id: uuid.UUID | None
    status: InstructionStatus
    instruction: Instruction
    created_at: datetime
    expires_at: datetime
    approved_at: datetime | None
    delivered_at: datetime | None
    delivery_count: int
    completed_at: datetime | None
    result: InstructionResult | None
    trace_context: dict[str, str] | None = None
    """The approval's W3C trace headers, for delivery to continue its trace."""

    @property
    def outcome(self) -> Outcome | None:
        """The executor's overall outcome, once reported."""
        return None if self.result is None else self.result.outcome


def _view(row: InstructionRecord) -> InstructionView:
    return InstructionView(
        id=row.id,
        cluster_id=row.cluster_id,
        recommendation_id=row.recommendation_id,
        status=InstructionStatus(row.status),
        instruction=Instruction.model_validate(row.envelope),
        created_at=row.created_at,
        expires_at=row.expires_at,
        approved_at=row.approved_at,
        delivered_at=row.delivered_at,
        delivery_count=row.delivery_count,
        completed_at=row.completed_at,
        result=None if row.result is None else InstructionResult.model_validate(row.result),
        trace_context=row.trace_context,
    )


class InstructionRepository:
    """Create, deliver and complete instructions of the session's tenant."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def create_approved(
        self,
        instruction: Instruction,
        *,
        approved_at: datetime,
        trace_context: dict[str, str] | None = None,
    ) -> InstructionView:
        """Store a signed instruction, approved and ready for delivery (with its trace headers)."""
        body = instruction.body
        if body.tenant_id != self._tenant_id:
            raise ConflictError("the instruction is signed for another tenant")
        # Foreign keys are checked without row-level security: look the parents up explicitly
        # so an instruction can only point at this tenant's cluster and recommendation.
        if await self._session.get(Cluster, body.cluster_id) is None:
            raise NotFoundError(f"cluster {body.cluster_id} not found")
        if (
            body.recommendation_id is not None
            and await self._session.get(RecommendationRecord, body.recommendation_id) is None
        ):
            raise NotFoundError(f"recommendation {body.recommendation_id} not found")
        row = InstructionRecord(
            id=body.instruction_id,
            tenant_id=self._tenant_id,
            cluster_id=body.cluster_id,
            recommendation_id=body.recommendation_id,
            status=InstructionStatus.APPROVED.value,
            envelope=instruction.model_dump(mode="json"),
            created_at=body.issued_at,
            expires_at=body.expires_at,
            approved_at=approved_at,
            delivery_count=0,
            trace_context=trace_context or None,
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as e:
            raise ConflictError(
                f"instruction {body.instruction_id} cannot be stored: {e.orig}"
            ) from e
        return _view(row)

    async def get(self, instruction_id: uuid.UUID) -> InstructionView:
        """One instruction; NotFoundError if absent or another tenant's."""
        row = await self._session.get(InstructionRecord, instruction_id)
        if row is None:
            raise NotFoundError(f"instruction {instruction_id} not found")
        return _view(row)

    async def next_deliverable(
        self,
        cluster_id: uuid.UUID,
        *,
        now: datetime,
        limit: int = 10,
        redeliver_after: timedelta = DEFAULT_REDELIVER_AFTER,
    ) -> list[InstructionView]:
        """Approved, unexpired instructions without a result, oldest first; marks them delivered.

        One never delivered, or last delivered at least `redeliver_after` ago, is (re)delivered.
        Rows another transaction is delivering right now are skipped, not waited for.
        """
        query = (
            select(InstructionRecord)
            .where(
                InstructionRecord.cluster_id == cluster_id,
                InstructionRecord.status == InstructionStatus.APPROVED.value,
                InstructionRecord.expires_at > now,
                or_(
                    InstructionRecord.delivered_at.is_(None),
                    InstructionRecord.delivered_at <= now - redeliver_after,
                ),
            )
            .order_by(InstructionRecord.created_at, InstructionRecord.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list((await self._session.execute(query)).scalars())
        for row in rows:
            row.delivered_at = now
            row.delivery_count += 1
        await self._session.flush()
        return [_view(row) for row in rows]

    async def record_result(
        self, result: InstructionResult, *, now: datetime
    ) -> tuple[InstructionView, bool]:
        """Store the executor's result; returns the instruction and whether this call stored it.

        The same result again is a no-op (delivery and reporting are at-least-once); a different
        result for an instruction that already has one is a ConflictError.
        """
        row = await self._session.get(
            InstructionRecord, result.instruction_id, with_for_update=True
        )
        if row is None:
            raise NotFoundError(f"instruction {result.instruction_id} not found")
        if result.cluster_id != row.cluster_id:
            raise ConflictError("the result names another cluster than the instruction")
        document: dict[str, Any] = result.model_dump(mode="json")
        if row.result is not None:
            if InstructionResult.model_validate(row.result) == result:
                return _view(row), False
            raise ConflictError(f"instruction {row.id} already has a different result")
        row.result = document
        row.status = InstructionStatus.COMPLETED.value
        row.completed_at = now
        await self._session.flush()
        return _view(row), True

    async def list(
        self,
        *,
        cluster_id: uuid.UUID | None = None,
        status: InstructionStatus | None = None,
        limit: int = 100,
    ) -> list[InstructionView]:
        """Newest first, optionally of one cluster and one status."""
        query = (
            select(InstructionRecord)
            .order_by(InstructionRecord.created_at.desc(), InstructionRecord.id)
            .limit(limit)
        )
        if cluster_id is not None:
            query = query.where(InstructionRecord.cluster_id == cluster_id)
        if status is not None:
            query = query.where(InstructionRecord.status == status.value)
        rows = await self._session.execute(query)
        return [_view(row) for row in rows.scalars()]

    async def expire(self, *, now: datetime) -> int:
        """Mark approved instructions past their expiry as expired; returns how many."""
        statement = (
            update(InstructionRecord)
            .where(
                InstructionRecord.status == InstructionStatus.APPROVED.value,
                InstructionRecord.expires_at <= now,
            )
            .values(status=InstructionStatus.EXPIRED.value)
            .execution_options(synchronize_session=False)
        )
        outcome = await self._session.execute(statement)
        return int(getattr(outcome, "rowcount", 0) or 0)
