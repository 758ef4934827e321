"""Tables ingest rewrites every minute: how PostgreSQL stores their rows once migrated."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from store.database import async_url


async def test_usage_state_documents_compress_with_lz4(owner_database_url: URL) -> None:
    """The state and demand columns of `usage_states` name lz4 as their compression."""
    engine = create_async_engine(async_url(owner_database_url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    """
                    SELECT attname, CAST(attcompression AS text) FROM pg_attribute
                    WHERE attrelid = 'usage_states'::regclass AND attname IN ('state', 'demand')
                    """
                )
            )
            found = {str(name): str(method) for name, method in rows}
    finally:
        await engine.dispose()
    assert found == {"state": "l", "demand": "l"}


async def test_tables_rewritten_every_minute_leave_room_on_their_pages(
    owner_database_url: URL,
) -> None:
    """The cost rollups and usage states are stored with a fillfactor below 100."""
    engine = create_async_engine(async_url(owner_database_url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    """
                    SELECT relname, reloptions FROM pg_class
                    WHERE relname IN ('cost_allocations', 'cost_node_hours', 'usage_states')
                    """
                )
            )
            found = {str(name): list(options or []) for name, options in rows}
    finally:
        await engine.dispose()
    assert found == {
        table: ["fillfactor=70"]
        for table in ("cost_allocations", "cost_node_hours", "usage_states")
    }
