"""What every task body gets: settings, a clock, ports, and a fresh event loop with clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from redis.asyncio import Redis

from store.database import Database
from workers.errors import TemporaryError, is_temporary
from workers.settings import WorkerSettings
from workers.tasks.maintenance_jobs import DigestSink

T = TypeVar("T")


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class TaskRuntime:
    """Everything the Celery tasks of one app are wired with."""

    settings: WorkerSettings
    digest_sink: DigestSink | None = None
    """Where digests go; None posts each to the tenant's webhook (logging where none is set)."""
    clock: Callable[[], datetime] = utc_now


@dataclass(frozen=True)
class Clients:
    """Connections one task run uses, opened and closed around it."""

    database: Database
    redis: Redis


def run_job(settings: WorkerSettings, job: Callable[[Clients], Awaitable[T]]) -> T:
    """Run an async job to completion in its own event loop.

    Celery calls tasks synchronously; asyncpg pools belong to one loop, so each run opens its
    own small pool and closes it. Temporary failures come out as `TemporaryError`, the one
    exception the tasks retry on.
    """

    async def main() -> T:
        clients = Clients(
            Database(settings.database_url, pool_size=1), Redis.from_url(settings.redis_url)
        )
        try:
            return await job(clients)
        finally:
            await clients.database.dispose()
            await clients.redis.aclose()

    try:
        return asyncio.run(main())
    except TemporaryError:
        raise
    except Exception as e:
        if is_temporary(e):
            raise TemporaryError(f"{type(e).__name__}: {e}") from e
        raise
