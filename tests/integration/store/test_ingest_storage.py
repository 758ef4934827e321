"""Tables ingest rewrites every minute: how PostgreSQL stores their rows once migrated."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from store.database import async_url


async def test_usage_state_documents_compress_with_lz4_where_the_server_has_it(
    owner_database_url: URL,
) -> None:
    """The state and demand columns of `usage_states` name lz4 as their compression on a
    server built with lz4, and the server's default (none named) on one built without."""
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
            built = await conn.scalar(
                text(
                    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                    " WHERE name = 'default_toast_compression'"
                )
            )
    finally:
        await engine.dispose()
    expected = "l" if built else ""
    assert found == {"state": expected, "demand": expected}


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
