"""Decisions people take on recommendations in the console: approve, reject, snooze."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ConflictError, NotFoundError
from store.repositories.recommendation_expiry import check_not_expired
from store.tables import RecommendationRecord

DECIDABLE_STATUSES = frozenset({"open", "snoozed"})
"""A recommendation can be decided while open, and also while snoozed."""


class Decision(StrEnum):
    """What a person decided; the value is the status the recommendation takes."""

    APPROVE = "approved"
    REJECT = "rejected"
    SNOOZE = "snoozed"


@dataclass(frozen=True)
class DecidedRecommendation:
    """A recommendation right after a decision, with the status it had before."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    kind: str
    status: str
    previous_status: str
    monthly_saving_usd: float
    body: dict[str, Any]
    decided_by: str
    decided_at: datetime
    comment: str | None
    snoozed_until: datetime | None


class DecisionRepository:
    """Record decisions on the session tenant's recommendations."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def decide(
        self,
        recommendation_id: uuid.UUID,
        decision: Decision,
        *,
        actor: str,
        now: datetime,
        comment: str | None = None,
        snooze_until: datetime | None = None,
    ) -> DecidedRecommendation:
        """Apply `decision`; ConflictError unless the recommendation is open or snoozed, and
        RecommendationExpiredError (a ConflictError) once its `expires_at` has passed.

        The row is locked until the transaction ends, so two people deciding at once take turns
        and the second one sees the first one's decision (a conflict), never a double approval.
        """
        if (decision is Decision.SNOOZE) != (snooze_until is not None):
            raise ValueError("a snooze, and only a snooze, needs `snooze_until`")
        if snooze_until is not None and snooze_until <= now:
            raise ValueError("a snooze must end in the future")
        row = await self._session.get(RecommendationRecord, recommendation_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"recommendation {recommendation_id} not found")
        if row.status not in DECIDABLE_STATUSES:
            raise ConflictError(f"recommendation {recommendation_id} is already {row.status}")
        check_not_expired(row.id, row.body, now)
        previous = row.status
        row.status = decision.value
        row.decided_by = actor
        row.decided_at = now
        row.decision_comment = comment
        row.snoozed_until = snooze_until
        row.updated_at = now
        await self._session.flush()
        return DecidedRecommendation(
            id=row.id,
            cluster_id=row.cluster_id,
            kind=row.kind,
            status=row.status,
            previous_status=previous,
            monthly_saving_usd=row.monthly_saving_usd,
            body=dict(row.body),
            decided_by=actor,
            decided_at=now,
            comment=comment,
            snoozed_until=snooze_until,
        )
