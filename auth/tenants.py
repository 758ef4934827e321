"""Finding a tenant by name or id, across tenants, for operators."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from store.database import Database
from store.errors import NotFoundError
from store.repositories.tenants import TenantRepository, TenantView


async def resolve_tenant(database: Database, reference: str) -> TenantView:
    """The tenant whose name or id is `reference`; NotFoundError otherwise."""
    async with database.system() as session:
        result = await session.execute(
            text("SELECT id FROM slicewise_find_tenant(:ref)"), {"ref": reference}
        )
        ids = [row[0] for row in result]
    # An id that is also some other tenant's name: the id wins, it is what tools print.
    match = _pick(ids, reference)
    if match is None:
        raise NotFoundError(f"tenant {reference!r} not found")
    async with database.tenant(match) as session:
        return await TenantRepository(session).current()


def _pick(ids: list[uuid.UUID], reference: str) -> uuid.UUID | None:
    for tenant_id in ids:
        if str(tenant_id) == reference.lower():
            return tenant_id
    return ids[0] if ids else None
