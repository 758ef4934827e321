"""Worker entrypoints: `python -m workers ingest|spot|celery-worker|celery-beat`.

Settings come from `SLICEWISE_WORKER_*` variables; each command runs one process kind until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry

from protocol.tracing_setup import configure_tracing
from workers.celery_app import beat_schedule_file, create_celery_app
from workers.celery_metrics import BeatMetrics, TaskMetrics
from workers.logs import configure_logging
from workers.metrics import MetricsServer
from workers.processes import run_ingest, run_spot
from workers.queue_metrics import CeleryQueueDepth
from workers.settings import WorkerSettings

COMMANDS = ("ingest", "spot", "celery-worker", "celery-beat")


async def _until_signalled(
    run: Callable[[WorkerSettings, asyncio.Event], Awaitable[None]], settings: WorkerSettings
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)


def _celery_worker(settings: WorkerSettings) -> None:
    app = create_celery_app(settings)
    registry = CollectorRegistry()
    TaskMetrics(registry).install(app)
    depth = CeleryQueueDepth(settings.redis_url, settings.celery_queue)
    registry.register(depth)
    try:
        with MetricsServer(registry, settings.metrics_host, settings.metrics_port):
            app.worker_main(
                [
                    "worker",
                    f"--loglevel={settings.log_level}",
                    f"--concurrency={settings.celery_concurrency}",
                    f"--queues={settings.celery_queue}",
                ]
            )
    finally:
        depth.close()


def _celery_beat(settings: WorkerSettings) -> None:
    app = create_celery_app(settings)
    registry = CollectorRegistry()
    BeatMetrics(registry).connect()
    with MetricsServer(registry, settings.metrics_host, settings.metrics_port):
        app.start(
            [
                "beat",
                f"--loglevel={settings.log_level}",
                f"--schedule={beat_schedule_file(settings)}",
            ]
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the process kind named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("command", choices=COMMANDS)
    args = parser.parse_args(argv)
    settings = WorkerSettings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    # On when an OTLP endpoint is configured (or OTEL_TRACES_EXPORTER names an exporter).
    configure_tracing(f"slicewise-{args.command}", default_on=True)
    if args.command == "ingest":
        asyncio.run(_until_signalled(run_ingest, settings))
    elif args.command == "spot":
        asyncio.run(_until_signalled(run_spot, settings))
    elif args.command == "celery-worker":
        _celery_worker(settings)
    else:
        _celery_beat(settings)


if __name__ == "__main__":
    main()
