"""Append-only audit log of decisions and executions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import AuditEntry


@dataclass(frozen=True)
class AuditView:
    """One audit entry."""

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any]


class AuditRepository:
    """Write and read the session tenant's audit log."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def append(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        details: dict[str, Any] | None = None,
    ) -> int:
        """Record one entry; returns its id."""
        row = AuditEntry(
            tenant_id=self._tenant_id,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details or {},
        )
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def list(
        self, *, limit: int = 100, before_id: int | None = None, subject_id: str | None = None
    ) -> list[AuditView]:
        """Newest entries first, paged by id."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        if subject_id is not None:
            query = query.where(AuditEntry.subject_id == subject_id)
        rows = await self._session.execute(query)
        return [
            AuditView(r.id, r.at, r.actor, r.action, r.subject_type, r.subject_id, dict(r.details))
            for r in rows.scalars()
        ]
