"""Prometheus metrics of the Celery processes: schedules beat fired, tasks the workers ran.

Beat counts each periodic task it sends (its only publishes), with the time of the last one,
so a stalled scheduler shows. A worker runs tasks in forked pool processes, whose counters the
main process (the one serving `/metrics`) never sees; so tasks are counted by the request
callbacks Celery runs in the main process: accepted by a pool process, failed, retried.
Labels are task names: a fixed, small set.
"""

from __future__ import annotations

from typing import Any

from billiard.einfo import ExceptionWithTraceback
from celery import Celery
from celery.exceptions import Retry
from celery.signals import before_task_publish
from celery.worker.request import Request
from prometheus_client import CollectorRegistry, Counter, Gauge


class BeatMetrics:
    """What the beat process has sent."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the families in `registry`."""
        self.fired = Counter(
            "slicewise_beat_schedules_fired",
            "Periodic tasks beat sent, by task name",
            ["task"],
            registry=registry,
        )
        self.last_fired = Gauge(
            "slicewise_beat_last_fired_timestamp_seconds",
            "Unix time beat last sent each periodic task",
            ["task"],
            registry=registry,
        )

    def connect(self) -> None:
        """Count every task this process publishes (in beat, each is a schedule firing)."""
        before_task_publish.connect(self._on_publish, weak=False, dispatch_uid="slicewise-beat")

    def _on_publish(self, sender: str | None = None, **_: Any) -> None:
        task = sender or "unknown"
        self.fired.labels(task).inc()
        self.last_fired.labels(task).set_to_current_time()


class TaskMetrics:
    """Tasks a worker ran, counted in its main process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the families in `registry`."""
        self.started = Counter(
            "slicewise_celery_tasks_started",
            "Tasks a pool process began to run, by task name",
            ["task"],
            registry=registry,
        )
        self.failures = Counter(
            "slicewise_celery_task_failures",
            "Task runs that failed (and will not be retried), by task name",
            ["task"],
            registry=registry,
        )
        self.retries = Counter(
            "slicewise_celery_task_retries",
            "Task runs that failed and were queued again, by task name",
            ["task"],
            registry=registry,
        )

    def install(self, app: Celery) -> None:
        """Make every task of `app` use a request class that counts into these metrics."""
        app.Task.Request = metered_request(self)


def metered_request(metrics: TaskMetrics) -> type[Request]:
    """A Celery request class whose main-process callbacks count into `metrics`."""

    class MeteredRequest(Request):  # type: ignore[misc]  # celery ships no types
        """Celery's request, counting acceptance, failures and retries."""

        def on_accepted(self, pid: int, time_accepted: float) -> None:
            metrics.started.labels(self.task_name).inc()
            super().on_accepted(pid, time_accepted)

        def on_failure(
            self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False
        ) -> None:
            exception = getattr(exc_info, "exception", None)
            if isinstance(exception, ExceptionWithTraceback):
                exception = exception.exc  # how errors come back from a pool process
            # A retry comes through here too, and is counted by on_retry.
            if not isinstance(exception, Retry):
                metrics.failures.labels(self.task_name).inc()
            super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

        def on_retry(self, exc_info: Any) -> None:
            metrics.retries.labels(self.task_name).inc()
            super().on_retry(exc_info)

    return MeteredRequest
