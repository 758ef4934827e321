"""Spot interruption notices as received, and the recommendation each one produced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFoundError
from store.tables import SpotNoticeRecord


@dataclass(frozen=True)
class SpotNoticeView:
    """One stored notice."""

    notice_id: uuid.UUID
    cluster_id: uuid.UUID
    body: dict[str, Any]
    received_at: datetime
    handled_at: datetime | None
    recommendation_id: uuid.UUID | None


def _view(row: SpotNoticeRecord) -> SpotNoticeView:
    return SpotNoticeView(
        row.notice_id,
        row.cluster_id,
        dict(row.body),
        row.received_at,
        row.handled_at,
        row.recommendation_id,
    )


class SpotNoticeRepository:
    """Record, resolve and read the session tenant's spot notices."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def record(
        self,
        *,
        notice_id: uuid.UUID,
        cluster_id: uuid.UUID,
        body: dict[str, Any],
        received_at: datetime,
    ) -> SpotNoticeView:
        """Store a notice once; a redelivered notice returns the row stored the first time."""
        await self._session.execute(
            insert(SpotNoticeRecord)
            .values(
                notice_id=notice_id,
                tenant_id=self._tenant_id,
                cluster_id=cluster_id,
                body=body,
                received_at=received_at,
            )
            .on_conflict_do_nothing(index_elements=[SpotNoticeRecord.notice_id])
        )
        return await self.get(notice_id)

    async def get(self, notice_id: uuid.UUID) -> SpotNoticeView:
        """One notice; NotFoundError if absent or another tenant's."""
        row = await self._session.scalar(
            select(SpotNoticeRecord)
            .where(SpotNoticeRecord.notice_id == notice_id)
            .execution_options(populate_existing=True)
        )
        if row is None:
            raise NotFoundError(f"spot notice {notice_id} not found")
        return _view(row)

    async def mark_handled(
        self, notice_id: uuid.UUID, *, handled_at: datetime, recommendation_id: uuid.UUID | None
    ) -> SpotNoticeView:
        """Note that the notice was acted on, and by which recommendation."""
        row = await self._session.get(SpotNoticeRecord, notice_id)
        if row is None:
            raise NotFoundError(f"spot notice {notice_id} not found")
        row.handled_at = handled_at
        row.recommendation_id = recommendation_id
        await self._session.flush()
        return _view(row)

    async def list(self, cluster_id: uuid.UUID, *, limit: int = 100) -> list[SpotNoticeView]:
        """The cluster's notices, newest first."""
        rows = await self._session.execute(
            select(SpotNoticeRecord)
            .where(SpotNoticeRecord.cluster_id == cluster_id)
            .order_by(SpotNoticeRecord.received_at.desc())
            .limit(limit)
        )
        return [_view(row) for row in rows.scalars()]
