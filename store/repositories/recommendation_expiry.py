"""Recommendations that stop being approvable: past their `expires_at`, they expire.

A spot evacuation is worth approving only until the instance is reclaimed; the recommendation
carries that moment as `expires_at` in its body. The console expires the one being decided on
before deciding, the periodic expiry job all the others, both through here with an audit entry
each; and the decision itself refuses one whose deadline passed in between.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, cast, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ConflictError
from store.repositories.audit import AuditRepository
from store.repositories.recommendations import RecommendationStatus
from store.tables import RecommendationRecord

EXPIRING_STATUSES = (RecommendationStatus.OPEN.value, RecommendationStatus.SNOOZED.value)
EXPIRY_ACTOR = "slicewise:deadline"


class RecommendationExpiredError(ConflictError):
    """The recommendation's `expires_at` has passed: it can no longer be decided on."""


def expires_at(body: dict[str, Any]) -> datetime | None:
    """The moment a stored recommendation body stops being approvable, if it has one."""
    value = body.get("expires_at")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def check_not_expired(recommendation_id: uuid.UUID, body: dict[str, Any], now: datetime) -> None:
    """Raise RecommendationExpiredError if the body's `expires_at` is not after `now`."""
    deadline = expires_at(body)
    if deadline is not None and deadline <= now:
        raise RecommendationExpiredError(
            f"recommendation {recommendation_id} expired at {deadline.isoformat()}: "
            "its deadline has passed"
        )


async def expire_past_deadline(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    now: datetime,
    only: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Mark the session tenant's open or snoozed recommendations past `expires_at` expired
    (`only` that one, if given); returns their ids."""
    deadline = cast(RecommendationRecord.body["expires_at"].astext, DateTime(timezone=True))
    conditions = [
        RecommendationRecord.status.in_(EXPIRING_STATUSES),
        RecommendationRecord.body["expires_at"].astext.is_not(None),
        deadline <= now,
    ]
    if only is not None:
        conditions.append(RecommendationRecord.id == only)
    statement = (
        update(RecommendationRecord)
        .where(*conditions)
        .values(status=RecommendationStatus.EXPIRED.value, updated_at=now)
        .returning(RecommendationRecord.id, RecommendationRecord.body["title"].astext)
        .execution_options(synchronize_session=False)
    )
    expired = (await session.execute(statement)).all()
    audit = AuditRepository(session, tenant_id)
    for recommendation_id, title in expired:
        await audit.append(
            actor=EXPIRY_ACTOR,
            action="recommendation.expired",
            subject_type="recommendation",
            subject_id=str(recommendation_id),
            details={"title": title or "", "expired_at": now.isoformat()},
        )
    return [recommendation_id for recommendation_id, _ in expired]
