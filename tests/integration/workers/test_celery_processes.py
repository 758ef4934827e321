"""`python -m workers celery-beat` and `celery-worker` as real processes: periodic analysis runs."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from devstack.process import ManagedProcess
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.recommendations import RecommendationRepository
from store.repositories.tenants import TenantView
from tests.integration.workers.conftest import eventually, metric, worker_env
from tests.unit.workers.factories import shop_snapshot, snapshot_message
from workers.ingest.handler import SnapshotIngest
from workers.settings import WorkerSettings


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
    settings = worker_settings.model_copy(
        update={
            "celery_queue": f"tasks-{uuid.uuid4().hex[:8]}",
            "analysis_interval_seconds": 1.0,
            "beat_schedule_path": str(tmp_path / "beat-schedule"),
            "celery_concurrency": 1,
        }
    )
    env = worker_env(settings)
    beat = ManagedProcess(
        "beat",
        [sys.executable, "-m", "workers", "celery-beat"],
        log_path=tmp_path / "beat.log",
        env=env,
    )
    worker = ManagedProcess(
        "worker",
        [sys.executable, "-m", "workers", "celery-worker"],
        log_path=tmp_path / "worker.log",
        env=env,
    )
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
