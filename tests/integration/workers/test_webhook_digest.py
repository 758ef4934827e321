"""The daily digest reaches the tenant's webhook with savings, idle GPUs and the spend change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from devstack.services import ServiceUrls
from protocol.recommendation import RecommendationKind
from recommender.fingerprint import fingerprint
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from store.repositories.tenants import TenantRepository, TenantView
from tests.integration.console.cost_seed import fold_cost_hours
from tests.integration.workers.test_idle_gpu_notices import LOOPBACK, Receiver, receiving
from tests.integration.workers.test_saving_groups import workload_recommendation
from workers.idle_gpu_notices import IdleGpuNotifier
from workers.tasks.maintenance_jobs import send_digests
from workers.webhook_digest import WebhookDigest


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The tenant's webhook receiver."""
    with receiving() as state:
        yield state


@pytest.fixture
async def redis(services: ServiceUrls) -> AsyncIterator[Redis]:
    """A Redis client for the digest's sent-today markers."""
    client = Redis.from_url(services.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_digest_posts_spend_change_and_idle_gpus_once(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    receiver: Receiver,
    redis: Redis,
) -> None:
    """Two measured hours yesterday, one the day before, an idle node: one message says all."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    await fold_cost_hours(
        database, tenant.id, cluster.id, now=today - timedelta(days=1, hours=-1), hours=1
    )
    await fold_cost_hours(database, tenant.id, cluster.id, now=today, hours=4, duty=0.0)
    rec = workload_recommendation(cluster, RecommendationKind.SPOT, 640.0, "web0", 0.9)
    async with database.tenant(tenant.id) as session:
        await TenantRepository(session).update_settings({"webhook_url": receiver.url})
        await RecommendationRepository(session, tenant.id).replace_open(
            cluster.id,
            [
                NewRecommendation(
                    rec.recommendation_id,
                    rec.kind.value,
                    fingerprint(rec),
                    rec.monthly_saving_usd,
                    rec.model_dump(mode="json"),
                    today,
                )
            ],
            now=today,
        )
    await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=today + timedelta(minutes=5))
    posted_before = len(receiver.bodies)
    sink = WebhookDigest(database, LOOPBACK, today + timedelta(hours=6))
    day = today.date()
    await send_digests(database, sink, redis, day=day)
    await send_digests(database, sink, redis, day=day)
    digests = [b for b in receiver.bodies[posted_before:] if "daily digest" in b["text"]]
    assert len(digests) == 1
    details = digests[0]["blocks"][0]["text"]["text"]
    assert "1 open recommendations worth $640/month" in digests[0]["text"]
    assert "Spend yesterday $" in details
    assert "+$" in details
    assert "GPU node(s) idle now" in details
    assert "gpu-ts-1" in details
