"""Migrations build exactly the schema the table models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine

from store.database import async_url
from store.tables import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_models(owner_database_url: URL) -> None:
    """Autogenerate finds nothing to change after `upgrade head`."""
    engine = create_async_engine(async_url(owner_database_url))
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == []
