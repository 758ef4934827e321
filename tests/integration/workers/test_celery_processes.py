"""`python -m workers celery-beat` and `celery-worker` as real processes: periodic analysis runs."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from devstack.process import ManagedProcess, free_port
from devstack.services import ServiceUrls
from protocol.tasks import SCHEDULE_ALL_ANALYSES
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.recommendations import RecommendationRepository
from store.repositories.tenants import TenantView
from tests.integration.workers.conftest import eventually, metric, worker_env
from tests.support.databases import application_database, migrated_database
from tests.unit.workers.factories import shop_snapshot, snapshot_message
from workers.ingest.handler import SnapshotIngest
from workers.settings import WorkerSettings


@pytest.fixture(scope="module")
async def owner_database_url(services: ServiceUrls) -> AsyncIterator[URL]:
    """A database of this module's own: beat schedules every cluster it holds, so clusters
    other tests left in the session's database would queue ahead of this module's."""
    async with migrated_database(services.database_url, "slicewise_beat") as url:
        yield url


@pytest.fixture(scope="module")
async def database(owner_database_url: URL) -> AsyncIterator[Database]:
    """The application's view of this module's database."""
    async with application_database(owner_database_url, pool_size=2) as db:
        yield db


async def _analysed(database: Database, tenant: TenantView, cluster: ClusterView) -> bool:
    async with database.tenant(tenant.id) as session:
        return bool(await RecommendationRepository(session, tenant.id).list(cluster.id))


async def test_beat_and_worker_processes_analyse_every_cluster(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    worker_settings: WorkerSettings,
    tmp_path: Path,
) -> None:
    """Beat queues the analysis of all clusters each second; the worker runs it for this one."""
    await SnapshotIngest(database).apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, 1)))
    settings = _periodic(worker_settings, tmp_path)
    # Beat serves metrics of its own: on another port than the worker's.
    beat = _process("beat", settings.model_copy(update={"metrics_port": free_port()}), tmp_path)
    worker = _process("worker", settings, tmp_path)
    try:
        await eventually(
            lambda: _analysed(database, tenant, cluster), within=90, what="a periodic analysis"
        )
        depth = await metric(settings.metrics_port, "slicewise_celery_queue_length")
        assert worker.running(), worker.log_tail()
        assert beat.running(), beat.log_tail()
    finally:
        worker.stop()
        beat.stop()
    assert depth >= 0


def _periodic(worker_settings: WorkerSettings, tmp_path: Path) -> WorkerSettings:
    """Settings of a beat that queues the analysis of all clusters every second."""
    return worker_settings.model_copy(
        update={
            "celery_queue": f"tasks-{uuid.uuid4().hex[:8]}",
            "analysis_interval_seconds": 1.0,
            "beat_schedule_path": str(tmp_path / "beat-schedule"),
            "celery_concurrency": 1,
        }
    )


def _process(name: str, settings: WorkerSettings, tmp_path: Path) -> ManagedProcess:
    return ManagedProcess(
        name,
        [sys.executable, "-m", "workers", f"celery-{name}"],
        log_path=tmp_path / f"{name}.log",
        env=worker_env(settings),
    )


async def _counted(port: int, name: str, what: str, within: float) -> None:
    """Wait until the analysis scheduler task counts at least once under `name`."""

    async def counted() -> bool:
        return await metric(port, name, task=SCHEDULE_ALL_ANALYSES) >= 1

    await eventually(counted, within=within, what=what)


async def test_beat_counts_the_schedules_it_fires(
    worker_settings: WorkerSettings, tmp_path: Path
) -> None:
    """Beat's /metrics counts each periodic task it sent, by task name."""
    settings = _periodic(worker_settings, tmp_path)
    beat = _process("beat", settings, tmp_path)
    try:
        await _counted(
            settings.metrics_port, "slicewise_beat_schedules_fired_total", "a schedule fired", 60
        )
        assert beat.running(), beat.log_tail()
    finally:
        beat.stop()


async def test_worker_counts_the_tasks_its_pool_started(
    worker_settings: WorkerSettings, tmp_path: Path
) -> None:
    """Tasks run in forked pool processes still count on the worker's own /metrics."""
    settings = _periodic(worker_settings, tmp_path)
    beat = _process("beat", settings.model_copy(update={"metrics_port": free_port()}), tmp_path)
    worker = _process("worker", settings, tmp_path)
    try:
        await _counted(
            settings.metrics_port, "slicewise_celery_tasks_started_total", "a task started", 90
        )
        assert worker.running(), worker.log_tail()
    finally:
        worker.stop()
        beat.stop()
