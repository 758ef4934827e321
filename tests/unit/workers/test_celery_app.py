"""The Celery app: every task registered under its contract name, and beat's schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.schedules import crontab

from protocol.tasks import (
    ALL_TASK_NAMES,
    DAILY_DIGEST,
    EXPIRE_INSTRUCTIONS,
    REFRESH_PRICING,
    SCHEDULE_ALL_ANALYSES,
)
from store.errors import TemporaryStoreError
from workers.celery_app import beat_schedule, create_celery_app
from workers.errors import TemporaryError, UnknownClusterError
from workers.settings import WorkerSettings
from workers.tasks.runtime import Clients, run_job

SETTINGS = WorkerSettings(
    redis_url="redis://127.0.0.1:1/0",
    analysis_interval_seconds=300,
    digest_hour_utc=6,
    celery_queue="q1",
)


def test_every_contract_task_name_is_registered_and_retries_on_temporary_errors() -> None:
    """Every name (notifications included) is a task of the app, retried on TemporaryError only."""
    app = create_celery_app(SETTINGS)
    for name in ALL_TASK_NAMES:
        assert app.tasks[name].autoretry_for == (TemporaryError,)
        assert app.tasks[name].max_retries == SETTINGS.task_retry_max
    assert app.conf.task_default_queue == "q1"
    assert app.conf.task_acks_late is True
    app.close()


def test_two_apps_keep_their_own_settings() -> None:
    """Tasks are not shared between apps: each app's queue and tasks are its own."""
    first = create_celery_app(SETTINGS)
    second = create_celery_app(SETTINGS.model_copy(update={"celery_queue": "q2"}))
    assert first.tasks[DAILY_DIGEST] is not second.tasks[DAILY_DIGEST]
    assert second.conf.task_default_queue == "q2"
    first.close()
    second.close()


def test_beat_schedules_each_periodic_task() -> None:
    """Analysis every 5 minutes, expiry every minute, pricing daily, the digest at 06:00 UTC."""
    schedule = {entry["task"]: entry["schedule"] for entry in beat_schedule(SETTINGS).values()}
    assert schedule[SCHEDULE_ALL_ANALYSES] == timedelta(minutes=5)
    assert schedule[EXPIRE_INSTRUCTIONS] == timedelta(minutes=1)
    assert schedule[REFRESH_PRICING] == timedelta(days=1)
    assert schedule[DAILY_DIGEST] == crontab(minute="0", hour="6")


def test_job_failing_temporarily_surfaces_as_temporary_error() -> None:
    """A storage outage inside a job is the error the tasks retry on."""

    async def job(clients: Clients) -> None:
        del clients
        raise TemporaryStoreError("database unavailable")

    with pytest.raises(TemporaryError, match="TemporaryStoreError: database unavailable"):
        run_job(SETTINGS, job)


def test_job_failing_permanently_keeps_its_error() -> None:
    """A permanent error is not turned into a retryable one."""

    async def job(clients: Clients) -> None:
        del clients
        raise UnknownClusterError("gone")

    with pytest.raises(UnknownClusterError):
        run_job(SETTINGS, job)
