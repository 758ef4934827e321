"""An idle GPU, end to end: snapshots on Kafka -> the ingest worker process -> hourly rollups ->
the Celery worker process's idle-GPU check -> a notice on the tenant's local webhook.

Everything real: the session's PostgreSQL, Redis and Kafka; `python -m workers ingest` and
`python -m workers celery-worker` as processes; a Slack-compatible receiver on 127.0.0.1 that
the workers are allowed to reach. The tenant's threshold and window come from its policy.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from celery import Celery
from sqlalchemy.engine import URL

from devstack.process import ManagedProcess, free_port
from devstack.services import ServiceUrls
from protocol.tasks import NOTIFY_IDLE_GPUS
from protocol.topics import SnapshotMessage, message_key
from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.tenant_policy import TenantPolicyRepository
from store.repositories.tenants import TenantView
from tests.integration.console.cost_seed import GPU_NODE, cost_snapshot
from tests.integration.workers.conftest import (
    eventually,
    fresh_worker_settings,
    ingest_worker,
    snapshot_count,
    worker_env,
)
from tests.integration.workers.test_idle_gpu_notices import by_workload, receiving
from tests.support.databases import application_database, migrated_database
from tests.unit.workers.factories import headers
from workers.settings import WorkerSettings

IDLE_HOURS = 3
NOTICE_WITHIN = 90.0
IDLE_WORKLOADS = {"Deployment/llm-inference", "Deployment/embedder"}


@pytest.fixture(scope="module")
async def owner_database_url(services: ServiceUrls) -> AsyncIterator[URL]:
    """A database of this module's own, so the idle check walks only this test's tenants."""
    async with migrated_database(services.database_url, "slicewise_idle_e2e") as url:
        yield url


@pytest.fixture(scope="module")
async def database(owner_database_url: URL) -> AsyncIterator[Database]:
    """The application's view of this module's database."""
    async with application_database(owner_database_url, pool_size=2) as db:
        yield db


def _celery_worker(settings: WorkerSettings, log: Path) -> ManagedProcess:
    env = worker_env(settings)
    env["SLICEWISE_WORKER_WEBHOOK_ALLOWED_NETWORKS"] = json.dumps(["127.0.0.1/32"])
    return ManagedProcess(
        "celery-worker",
        [sys.executable, "-m", "workers", "celery-worker"],
        log_path=log,
        env=env,
    )


async def _produce(
    services: ServiceUrls, topic: str, messages: list[SnapshotMessage], key: bytes
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=services.kafka_bootstrap,
        enable_idempotence=False,
        max_request_size=32 * 2**20,
    )
    await producer.start()
    try:
        for message in messages:
            await producer.send_and_wait(
                topic, message.model_dump_json().encode(), key=key, headers=headers()
            )
    finally:
        await producer.stop()


def _ask_for_the_idle_check(settings: WorkerSettings) -> None:
    """Queue the idle-GPU check as beat does (beat's own period is five minutes)."""
    client = Celery("e2e-client", broker=settings.redis_url)
    try:
        client.send_task(NOTIFY_IDLE_GPUS, queue=settings.celery_queue)
    finally:
        client.close()


async def test_idle_gpu_notice_reaches_the_tenants_webhook_through_the_workers(
    services: ServiceUrls,
    owner_database_url: URL,
    database: Database,
    tenant: TenantView,
    tmp_path: Path,
) -> None:
    """Three hours of GPUs at 1 % duty under a 3 % / 3 h policy: one notice per workload."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(
            "idle-gpus", provider="aws", region="eu-west-1"
        )
    settings = fresh_worker_settings(services, owner_database_url).model_copy(
        update={"celery_queue": f"tasks-{uuid.uuid4().hex[:8]}", "celery_concurrency": 1}
    )
    last = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    snapshots = [
        SnapshotMessage(
            tenant_id=tenant.id,
            received_at=last - timedelta(hours=k),
            snapshot=cost_snapshot(cluster.id, last - timedelta(hours=k), duty=0.01),
        )
        for k in range(IDLE_HOURS, -1, -1)
    ]
    with receiving() as receiver:
        async with database.tenant(tenant.id) as session:
            await TenantPolicyRepository(session, tenant.id).update(
                {
                    "webhook_url": receiver.url,
                    "idle_gpu_threshold": 0.03,
                    "idle_gpu_hours": IDLE_HOURS,
                },
                actor="e2e",
            )
        ingest = ingest_worker(settings, tmp_path / "ingest.log")
        # Each process serves its own /metrics.
        worker = _celery_worker(
            settings.model_copy(update={"metrics_port": free_port()}),
            tmp_path / "celery-worker.log",
        )
        try:
            await _produce(
                services, settings.snapshots_topic, snapshots, message_key(tenant.id, cluster.id)
            )

            async def folded() -> bool:
                ingest.check_alive()
                return await snapshot_count(database, tenant.id, cluster.id) >= len(snapshots)

            await eventually(folded, within=120, what="the ingest worker to fold the snapshots")
            await asyncio.to_thread(_ask_for_the_idle_check, settings)

            async def announced() -> bool:
                worker.check_alive()
                return len(receiver.bodies) >= len(IDLE_WORKLOADS)

            await eventually(announced, within=NOTICE_WITHIN, what="the idle-GPU notice")
            assert ingest.running(), ingest.log_tail()
            assert worker.running(), worker.log_tail()
        finally:
            worker.stop()
            ingest.stop()
    notices = by_workload(receiver.bodies)
    assert set(notices) == IDLE_WORKLOADS
    inference = notices["Deployment/llm-inference"]
    assert (inference["Namespace"], inference["Owners"], inference["Nodes"]) == (
        "ml",
        "team=ml-platform",
        GPU_NODE,
    )
    assert inference["Cost per day"].startswith("$")
