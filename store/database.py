"""Engine and sessions: every tenant's transaction runs with `app.tenant_id` set."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.errors import TemporaryStoreError


def async_url(url: str | URL) -> URL:
    """Normalise a libpq-style URL (`postgresql://...`) to the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


class Database:
    """Connection pool plus the two kinds of transaction the application runs."""

    def __init__(self, url: str | URL, *, pool_size: int = 10, echo: bool = False) -> None:
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            echo=echo,
            pool_pre_ping=True,
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def tenant(self, tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A transaction that sees and writes only `tenant_id`'s rows; commits on success."""
        async with self._transaction() as session:
            await session.execute(
                text("SELECT set_config('app.tenant_id', :tenant, true)"),
                {"tenant": str(tenant_id)},
            )
            yield session

    @asynccontextmanager
    async def system(self) -> AsyncIterator[AsyncSession]:
        """A transaction with no tenant set: tenant-owned tables look empty.

        Used for the few cross-tenant look-ups, which go through narrow SECURITY DEFINER
        functions (finding an API client by id, listing clusters for periodic analysis), and
        for the signing keys, which belong to no tenant.
        """
        async with self._transaction() as session:
            yield session

    async def ping(self) -> None:
        """Raise TemporaryStoreError unless the database answers."""
        async with self.system() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except (OperationalError, InterfaceError, OSError) as e:
            raise TemporaryStoreError(f"database unavailable: {type(e).__name__}") from e
        except DBAPIError as e:
            if _is_retryable(e):
                raise TemporaryStoreError("transaction conflict; retry") from e
            raise


def _is_retryable(error: DBAPIError) -> bool:
    # serialization_failure and deadlock_detected are the SQLSTATEs a retry can fix.
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return code in {"40001", "40P01"}
