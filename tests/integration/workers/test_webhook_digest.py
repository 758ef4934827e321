"""The daily digest reaches the tenant's webhook with savings, idle GPUs and the spend change."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta

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
from workers.tasks.maintenance_jobs import DigestsNotDeliveredError, send_digests
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
    """Two measured hours yesterday, one the day before, idle GPUs: one message says all."""
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
    await digests_of(tenant, database, sink, redis, day)
    await digests_of(tenant, database, sink, redis, day)
    digests = [b for b in receiver.bodies[posted_before:] if "daily digest" in b["text"]]
    assert len(digests) == 1
    details = digests[0]["blocks"][0]["text"]["text"]
    assert "1 open recommendations worth $640/month" in digests[0]["text"]
    assert "Spend yesterday $" in details
    assert "+$" in details
    assert "workload(s) holding idle GPUs now" in details
    assert "ml/Deployment/llm-inference" in details


async def digests_of(
    tenant: TenantView, database: Database, sink: WebhookDigest, redis: Redis, day: date
) -> None:
    """Run the digests; other tests' tenants may have receivers that are gone, never ours."""
    failed: list[uuid.UUID] = []
    try:
        await send_digests(database, sink, redis, day=day)
    except DigestsNotDeliveredError as e:
        failed = e.tenants
    assert tenant.id not in failed


async def _open_spot(database: Database, tenant: TenantView, cluster: ClusterView) -> None:
    rec = workload_recommendation(cluster, RecommendationKind.SPOT, 300.0, "web0", 1.0)
    async with database.tenant(tenant.id) as session:
        await RecommendationRepository(session, tenant.id).replace_open(
            cluster.id,
            [
                NewRecommendation(
                    rec.recommendation_id,
                    rec.kind.value,
                    fingerprint(rec),
                    rec.monthly_saving_usd,
                    rec.model_dump(mode="json"),
                    rec.created_at,
                )
            ],
            now=rec.created_at,
        )


async def test_a_tenant_whose_receiver_is_down_does_not_hold_back_the_others(
    *,
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    other_tenant: TenantView,
    other_cluster: ClusterView,
    receiver: Receiver,
    redis: Redis,
) -> None:
    """The other tenant's receiver answers 503: ours still gets its digest; theirs is retried."""
    with receiving() as down:
        down.status = 503
        for owner, owned, url in (
            (tenant, cluster, receiver.url),
            (other_tenant, other_cluster, down.url),
        ):
            await _open_spot(database, owner, owned)
            async with database.tenant(owner.id) as session:
                await TenantRepository(session).update_settings({"webhook_url": url})
        sink = WebhookDigest(database, LOOPBACK, datetime.now(UTC))
        with pytest.raises(DigestsNotDeliveredError) as failed:
            await send_digests(database, sink, redis, day=datetime.now(UTC).date())
    assert other_tenant.id in failed.value.tenants
    assert tenant.id not in failed.value.tenants
    assert [b for b in receiver.bodies if "daily digest" in b["text"]]
