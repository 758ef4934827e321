"""The Celery application, built from the worker settings by a factory (no module-level app)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab

from protocol.tasks import (
    DAILY_DIGEST,
    EXPIRE_INSTRUCTIONS,
    NOTIFY_IDLE_GPUS,
    REFRESH_PRICING,
    SCHEDULE_ALL_ANALYSES,
)
from workers.celery_tracing import CeleryTracing
from workers.idle_gpu_notices import IDLE_GPU_CHECK, register_idle_gpu_task
from workers.notifications import register_notification_tasks
from workers.settings import WorkerSettings
from workers.tasks.registry import register_tasks
from workers.tasks.runtime import TaskRuntime


def beat_schedule(settings: WorkerSettings) -> dict[str, dict[str, Any]]:
    """What beat sends, and how often."""
    return {
        "analyse-every-cluster": {
            "task": SCHEDULE_ALL_ANALYSES,
            "schedule": timedelta(seconds=settings.analysis_interval_seconds),
        },
        "expire-instructions": {
            "task": EXPIRE_INSTRUCTIONS,
            "schedule": timedelta(seconds=settings.instruction_expiry_interval_seconds),
        },
        "refresh-pricing": {
            "task": REFRESH_PRICING,
            "schedule": timedelta(seconds=settings.pricing_refresh_seconds),
        },
        "idle-gpu-notices": {"task": NOTIFY_IDLE_GPUS, "schedule": IDLE_GPU_CHECK},
        "daily-digest": {
            "task": DAILY_DIGEST,
            "schedule": crontab(minute="0", hour=str(settings.digest_hour_utc)),
        },
    }


def beat_schedule_file(settings: WorkerSettings) -> Path:
    """Where beat records when each entry last ran."""
    if settings.beat_schedule_path is not None:
        return Path(settings.beat_schedule_path)
    return Path(tempfile.gettempdir()) / "slicewise-beat-schedule"


def create_celery_app(settings: WorkerSettings, runtime: TaskRuntime | None = None) -> Celery:
    """A Celery app on the Redis broker with every Slicewise task registered.

    Every task of `protocol.tasks`: the scheduled ones (`tasks.registry`) and the webhook
    notifications (`notifications`); the analysis queues one for the recommendations it creates.
    """
    app = Celery("slicewise", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_default_queue=settings.celery_queue,
        # At-least-once: a task whose worker dies is redelivered; every task is idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.celery_concurrency,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        result_expires=timedelta(hours=6),
        beat_schedule=beat_schedule(settings),
        beat_schedule_filename=str(beat_schedule_file(settings)),
    )
    CeleryTracing(app).connect()
    register_tasks(app, runtime or TaskRuntime(settings))
    register_notification_tasks(app, settings)
    register_idle_gpu_task(app, settings)
    return app
