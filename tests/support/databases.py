"""Scratch databases: one per test session, migrated, dropped afterwards."""

from __future__ import annotations

import secrets

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from store.database import async_url


async def create_scratch_database(server_url: str) -> URL:
    """Create an empty database on the server; return the owner's URL for it."""
    name = f"slicewise_test_{secrets.token_hex(6)}"
    engine = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return make_url(server_url).set(database=name)


async def drop_scratch_database(owner_url: URL, server_url: str) -> None:
    """Drop a scratch database, disconnecting anyone still connected."""
    engine = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{owner_url.database}" WITH (FORCE)'))
    finally:
        await engine.dispose()
