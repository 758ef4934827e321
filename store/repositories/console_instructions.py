"""Read-side queries of the console about instructions: the list with results, and one of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFoundError
from store.repositories.console_paging import Page, PageRequest
from store.tables import Cluster, InstructionRecord, RecommendationRecord


@dataclass(frozen=True)
class InstructionSummary:
    """One instruction and what became of it."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    cluster_name: str
    recommendation_id: uuid.UUID | None
    recommendation_title: str | None
    status: str
    created_at: datetime
    expires_at: datetime
    approved_at: datetime | None
    delivered_at: datetime | None
    delivery_count: int
    completed_at: datetime | None
    envelope: dict[str, Any]
    result: dict[str, Any] | None

    @property
    def outcome(self) -> str | None:
        """The executor's overall outcome, once it reported one."""
        value = (self.result or {}).get("outcome")
        return value if isinstance(value, str) else None


class InstructionQueries:
    """Read the session tenant's instructions the way the console shows them."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def instructions(
        self,
        page: PageRequest,
        *,
        cluster_id: uuid.UUID | None = None,
        recommendation_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Page[InstructionSummary]:
        """One page of instructions, newest first."""
        ins = InstructionRecord
        conditions: list[ColumnElement[bool]] = []
        if cluster_id is not None:
            conditions.append(ins.cluster_id == cluster_id)
        if recommendation_id is not None:
            conditions.append(ins.recommendation_id == recommendation_id)
        if status:
            conditions.append(ins.status == status)
        total = await self._session.scalar(select(func.count()).select_from(ins).where(*conditions))
        query = self._instruction_query().where(*conditions)
        query = query.order_by(ins.created_at.desc(), ins.id).offset(page.offset).limit(page.size)
        rows = await self._session.execute(query)
        items = [_instruction(row, name, title) for row, name, title in rows]
        return Page(items, int(total or 0), page.page, page.size)

    async def instruction(self, instruction_id: uuid.UUID) -> InstructionSummary:
        """One instruction; NotFoundError if absent or another tenant's."""
        query = self._instruction_query().where(InstructionRecord.id == instruction_id)
        found = (await self._session.execute(query)).one_or_none()
        if found is None:
            raise NotFoundError(f"instruction {instruction_id} not found")
        row, name, title = found
        return _instruction(row, name, title)

    @staticmethod
    def _instruction_query() -> Select[tuple[InstructionRecord, str, Any]]:
        return (
            select(
                InstructionRecord,
                Cluster.name,
                RecommendationRecord.body["title"].astext,
            )
            .join(Cluster, Cluster.id == InstructionRecord.cluster_id)
            .outerjoin(
                RecommendationRecord,
                RecommendationRecord.id == InstructionRecord.recommendation_id,
            )
        )


def _instruction(row: InstructionRecord, cluster_name: str, title: Any) -> InstructionSummary:
    return InstructionSummary(
        id=row.id,
        cluster_id=row.cluster_id,
        cluster_name=cluster_name,
        recommendation_id=row.recommendation_id,
        recommendation_title=None if title is None else str(title),
        status=row.status,
        created_at=row.created_at,
        expires_at=row.expires_at,
        approved_at=row.approved_at,
        delivered_at=row.delivered_at,
        delivery_count=row.delivery_count,
        completed_at=row.completed_at,
        envelope=dict(row.envelope),
        result=None if row.result is None else dict(row.result),
    )
