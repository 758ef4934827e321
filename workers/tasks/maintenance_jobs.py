"""Periodic upkeep across tenants: instruction expiry and the daily digest."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Protocol

import structlog
from redis.asyncio import Redis

from store.database import Database
from store.repositories.clusters import list_all_clusters
from store.repositories.instructions import InstructionRepository
from store.repositories.recommendation_expiry import expire_past_deadline
from store.repositories.recommendations import OpenSummary, RecommendationRepository
from workers.errors import TemporaryError

log = structlog.get_logger(__name__)


async def tenants_with_clusters(database: Database) -> list[uuid.UUID]:
    """Every tenant that has at least one cluster."""
    # Instructions and recommendations hang off clusters: a tenant without one has neither.
    async with database.system() as session:
        pairs = await list_all_clusters(session)
    return sorted({tenant_id for tenant_id, _ in pairs})


async def expire_all(database: Database, *, now: datetime) -> int:
    """Expire approved instructions without a result past their expiry, tenant by tenant;
    returns how many. Open recommendations past their own `expires_at` (spot evacuations whose
    notice deadline passed) expire on the same pass.

    "Approved" is the state of an instruction from approval until the executor reports: an
    instruction delivered but never answered before `expires_at` will be refused by the
    executor anyway, so it expires like one never delivered.
    """
    expired = 0
    for tenant_id in await tenants_with_clusters(database):
        async with database.tenant(tenant_id) as session:
            count = await InstructionRepository(session, tenant_id).expire(now=now)
            recommendations = await expire_past_deadline(session, tenant_id, now=now)
        if count:
            log.info("instructions expired", tenant_id=str(tenant_id), count=count)
        if recommendations:
            log.info(
                "recommendations expired", tenant_id=str(tenant_id), count=len(recommendations)
            )
        expired += count
    return expired


class DigestSink(Protocol):
    """Where each tenant's daily digest goes (e-mail, chat, a log line)."""

    async def deliver(self, tenant_id: uuid.UUID, summaries: list[OpenSummary]) -> None:
        """Send one tenant's digest."""
        ...


class LoggedDigest:
    """A digest sink that writes one log line per tenant."""

    async def deliver(self, tenant_id: uuid.UUID, summaries: list[OpenSummary]) -> None:
        """Log the tenant's open recommendations and their total monthly saving."""
        log.info(
            "daily digest",
            tenant_id=str(tenant_id),
            clusters=len(summaries),
            open_recommendations=sum(s.count for s in summaries),
            monthly_saving_usd=round(sum(s.monthly_saving_usd for s in summaries), 2),
        )


DIGEST_SENT_KEY = "slicewise:digest:{day}:{tenant}"
_DIGEST_MEMORY_SECONDS = 3 * 86_400


class DigestsNotDeliveredError(TemporaryError):
    """Some tenants' digests could not be delivered this run; the others were."""

    def __init__(self, tenants: list[uuid.UUID]) -> None:
        super().__init__(f"{len(tenants)} digest(s) not delivered; retried later")
        self.tenants = tenants


async def send_digests(database: Database, sink: DigestSink, redis: Redis, *, day: date) -> int:
    """Deliver `day`'s digest to every tenant with open recommendations; returns how many.

    A tenant's digest is marked sent in Redis after delivery, so a retried or repeated run
    the same day skips it (a crash between the two can send it twice, never lose it). A tenant
    whose receiver is down does not hold back the others: the run goes on and then raises
    DigestsNotDeliveredError, so the task is retried for the tenants still unsent.
    """
    sent = 0
    failed: list[uuid.UUID] = []
    for tenant_id in await tenants_with_clusters(database):
        key = DIGEST_SENT_KEY.format(day=day.isoformat(), tenant=tenant_id)
        if await redis.exists(key):
            continue
        async with database.tenant(tenant_id) as session:
            summaries = await RecommendationRepository(session, tenant_id).open_summary()
        if summaries:
            try:
                await sink.deliver(tenant_id, summaries)
            except TemporaryError as e:
                log.warning("digest not delivered", tenant_id=str(tenant_id), error=str(e))
                failed.append(tenant_id)
                continue
            sent += 1
        await redis.set(key, b"1", ex=_DIGEST_MEMORY_SECONDS)
    if failed:
        raise DigestsNotDeliveredError(failed)
    return sent
