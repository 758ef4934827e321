"""Fixtures of the worker integration tests: registered clusters, topics, settings."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event
from sqlalchemy.engine import URL

from devstack.process import ManagedProcess, free_port
from devstack.services import ServiceUrls
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from store.repositories.usage_states import ContainerKey, UsageStateRepository
from store.roles import DEFAULT_APP_ROLE, app_url
from workers.processes import run_ingest
from workers.settings import WorkerSettings

T = TypeVar("T")


@contextlib.contextmanager
def executed_statements(database: Database) -> Iterator[list[str]]:
    """Every SQL statement `database` executes within the block, in order, its whitespace
    collapsed."""
    statements: list[str] = []

    def note(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split()))

    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)


async def new_cluster(database: Database, tenant: TenantView, prefix: str) -> uuid.UUID:
    """Register one more cluster for `tenant`, named `prefix-<random>`."""
    async with database.tenant(tenant.id) as session:
        created = await ClusterRepository(session, tenant.id).create(
            f"{prefix}-{uuid.uuid4().hex[:8]}"
        )
    return created.id


@pytest.fixture
async def cluster(database: Database, tenant: TenantView) -> ClusterView:
    """A cluster registered for `tenant`."""
    async with database.tenant(tenant.id) as session:
        return await ClusterRepository(session, tenant.id).create(
            f"shop-{uuid.uuid4().hex[:6]}", provider="aws", region="eu-west-1"
        )


@pytest.fixture
async def other_cluster(database: Database, other_tenant: TenantView) -> ClusterView:
    """A cluster registered for `other_tenant`."""
    async with database.tenant(other_tenant.id) as session:
        return await ClusterRepository(session, other_tenant.id).create(
            f"theirs-{uuid.uuid4().hex[:6]}", provider="aws", region="eu-west-1"
        )


@pytest.fixture
async def producer(services: ServiceUrls) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer able to send large snapshots."""
    client = AIOKafkaProducer(
        bootstrap_servers=services.kafka_bootstrap,
        enable_idempotence=False,
        max_request_size=32 * 2**20,
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


@pytest.fixture
def worker_settings(services: ServiceUrls, owner_database_url: URL) -> WorkerSettings:
    """Settings with topics and consumer groups of this test only, and a free metrics port."""
    return fresh_worker_settings(services, owner_database_url)


def fresh_worker_settings(services: ServiceUrls, owner_database_url: URL) -> WorkerSettings:
    """Worker settings on the session's services, with topics and groups no one else uses."""
    suffix = uuid.uuid4().hex[:8]
    return WorkerSettings(
        database_url=app_url(owner_database_url, DEFAULT_APP_ROLE).render_as_string(
            hide_password=False
        ),
        database_pool_size=2,
        redis_url=services.redis_url,
        kafka_bootstrap=services.kafka_bootstrap,
        client_id=f"worker-{suffix}",
        ingest_group_id=f"ingest-{suffix}",
        spot_group_id=f"spot-{suffix}",
        snapshots_topic=f"snapshots-{suffix}",
        spot_notices_topic=f"spot-notices-{suffix}",
        dead_letter_topic=f"dead-letter-{suffix}",
        metrics_port=free_port(),
        retry_initial_seconds=0.05,
        retry_max_seconds=0.5,
        session_timeout_ms=6000,
        log_json=False,
    )


@contextlib.asynccontextmanager
async def running_ingest(settings: WorkerSettings) -> AsyncIterator[None]:
    """An ingest worker running in this event loop until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_ingest(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.05
) -> None:
    """Wait until `check()` holds; fail naming `what` after `within` seconds."""

    async def poll() -> None:
        # The condition lives in the database or another process: polling is how to see it.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(interval)

    try:
        await asyncio.wait_for(poll(), within)
    except TimeoutError:
        pytest.fail(f"timed out after {within:.0f}s waiting for {what}")


async def at_least(value: Awaitable[float], minimum: float) -> bool:
    """Whether `value` resolves to `minimum` or more (for `eventually`)."""
    return await value >= minimum


async def wait_until_folded(
    database: Database,
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    *,
    snapshots: int,
    metrics_port: int,
    handled: int,
) -> None:
    """Wait until `snapshots` are folded and the worker on `metrics_port` counted `handled`."""
    await eventually(
        lambda: at_least(snapshot_count(database, tenant_id, cluster_id), snapshots),
        within=120,
        what=f"{snapshots} snapshots folded",
    )
    await eventually(
        lambda: at_least(metric(metrics_port, "slicewise_worker_messages_total"), handled),
        within=30,
        what=f"the worker to count {handled} messages",
    )


def ingest_worker(settings: WorkerSettings, log: Path) -> ManagedProcess:
    """`python -m workers ingest` with `settings`, logging to `log`."""
    return ManagedProcess(
        "ingest-worker",
        [sys.executable, "-m", "workers", "ingest"],
        log_path=log,
        env=worker_env(settings),
    )


async def equals(value: Awaitable[T], expected: T) -> bool:
    """Whether `value` resolves to `expected` (for `eventually`)."""
    return await value == expected


async def snapshot_count(database: Database, tenant_id: uuid.UUID, cluster_id: uuid.UUID) -> int:
    """How many snapshots of the cluster have been folded."""
    async with database.tenant(tenant_id) as session:
        return await SnapshotRepository(session, tenant_id).count(cluster_id)


async def folded_states(
    database: Database, tenant_id: uuid.UUID, cluster_id: uuid.UUID
) -> dict[ContainerKey, tuple[bytes, int]]:
    """Every usage state of the cluster with its sample count."""
    async with database.tenant(tenant_id) as session:
        records = await UsageStateRepository(session, tenant_id).list(cluster_id)
    return {r.key: (r.state, r.sample_count) for r in records}


async def metric(port: int, name: str, **labels: str) -> float:
    """The sum of matching samples on a worker's /metrics endpoint (0 when absent)."""
    async with httpx.AsyncClient() as client:
        try:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
        except httpx.ConnectError:
            return 0.0  # the worker is not serving yet
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def worker_env(settings: WorkerSettings) -> dict[str, str]:
    """The environment that makes `python -m workers` read `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLICEWISE_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"SLICEWISE_WORKER_{name.upper()}"] = str(value)
    return env
