"""Whole scratch databases on a server: created empty for a test session or a bench run, and
dropped afterwards (migrating them is `store.migrate.upgrade`)."""

from __future__ import annotations

import secrets

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from store.database import async_url


async def create_scratch_database(server_url: str, prefix: str) -> URL:
    """Create an empty database `<prefix>_<random>` on the server; return its owner's URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _run_outside_transactions(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name)


async def drop_scratch_database(owner_url: URL, server_url: str) -> None:
    """Drop a scratch database, disconnecting anyone still connected."""
    await _run_outside_transactions(
        server_url, f'DROP DATABASE IF EXISTS "{owner_url.database}" WITH (FORCE)'
    )


async def _run_outside_transactions(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
