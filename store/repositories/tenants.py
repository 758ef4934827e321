"""Tenants: the root of every tenant-owned row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.database import Database
from store.errors import ConflictError, NotFoundError
from store.tables import Tenant


@dataclass(frozen=True)
class TenantView:
    """A tenant as the application sees it."""

    id: uuid.UUID
    name: str
    settings: dict[str, Any]
    created_at: datetime


def _view(row: Tenant) -> TenantView:
    return TenantView(row.id, row.name, dict(row.settings), row.created_at)


async def create_tenant(database: Database, name: str) -> TenantView:
    """Create a tenant; its own transaction is scoped to the new id, as RLS requires."""
    tenant_id = uuid.uuid4()
    try:
        async with database.tenant(tenant_id) as session:
            row = Tenant(id=tenant_id, name=name, settings={})
            session.add(row)
            await session.flush()
            await session.refresh(row)
            return _view(row)
    except IntegrityError as e:
        raise ConflictError(f"a tenant named {name!r} already exists") from e


class TenantRepository:
    """The current tenant's own row."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def current(self) -> TenantView:
        """The tenant this transaction is scoped to."""
        row = (await self._session.execute(select(Tenant))).scalar_one_or_none()
        if row is None:
            raise NotFoundError("tenant not found")
        return _view(row)

    async def update_settings(self, changes: dict[str, Any]) -> TenantView:
        """Merge `changes` into the tenant's settings."""
        row = (await self._session.execute(select(Tenant))).scalar_one_or_none()
        if row is None:
            raise NotFoundError("tenant not found")
        row.settings = {**row.settings, **changes}
        await self._session.flush()
        return _view(row)
