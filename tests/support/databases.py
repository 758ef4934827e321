"""Migrated scratch databases for tests, and the application role's view of one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import URL

from store.database import Database
from store.migrate import upgrade
from store.roles import DEFAULT_APP_ROLE, app_url
from store.scratch import create_scratch_database, drop_scratch_database


@asynccontextmanager
async def migrated_database(server_url: str, prefix: str) -> AsyncIterator[URL]:
    """A fresh database migrated to the head revision (schema owner's URL), dropped afterwards."""
    url = await create_scratch_database(server_url, prefix)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await drop_scratch_database(url, server_url)


@asynccontextmanager
async def application_database(owner_url: URL, pool_size: int) -> AsyncIterator[Database]:
    """The application's view of a database: the role under row-level security."""
    db = Database(app_url(owner_url, DEFAULT_APP_ROLE), pool_size=pool_size)
    try:
        yield db
    finally:
        await db.dispose()
