"""What execution made of approved recommendations: applied, or failed.

An approved recommendation becomes `applied` when the executor reports that its instruction was
applied, and `failed` when it reports a failure, a refusal or a rollback. A dry run or a skipped
instruction changed nothing, so the recommendation stays approved.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from protocol.instruction import Outcome
from store.tables import RecommendationRecord

APPROVED = "approved"


class ExecutionStatus(StrEnum):
    """The status an executed recommendation takes."""

    APPLIED = "applied"
    FAILED = "failed"


_STATUS_AFTER = {
    Outcome.APPLIED: ExecutionStatus.APPLIED,
    Outcome.FAILED: ExecutionStatus.FAILED,
    Outcome.REFUSED: ExecutionStatus.FAILED,
    Outcome.ROLLED_BACK: ExecutionStatus.FAILED,
}


def status_after(outcome: Outcome) -> ExecutionStatus | None:
    """The recommendation status an instruction outcome leads to; None when it changes nothing."""
    return _STATUS_AFTER.get(outcome)


class RecommendationOutcomeRepository:
    """Record execution outcomes on the session tenant's approved recommendations."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def record_execution(
        self, recommendation_id: uuid.UUID, outcome: Outcome, *, now: datetime
    ) -> ExecutionStatus | None:
        """Move an approved recommendation to applied or failed; returns the new status.

        None when the outcome changes nothing, or the recommendation is absent, another
        tenant's, or no longer approved (its status is then left as it is).
        """
        status = status_after(outcome)
        if status is None:
            return None
        row = await self._session.get(RecommendationRecord, recommendation_id, with_for_update=True)
        if row is None or row.tenant_id != self._tenant_id or row.status != APPROVED:
            return None
        row.status = status.value
        row.updated_at = now
        await self._session.flush()
        return status
