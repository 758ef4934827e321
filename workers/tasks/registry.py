"""The Celery tasks, registered by name on an app; bodies are the async jobs of this package.

Every task is idempotent (re-running it leaves the same state) and is retried with
exponential back-off on temporary errors only. Tasks queued by tasks are fire-and-forget: no
one waits for their results, so none are stored (nor subscribed to).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import structlog
from celery import Celery

from auth.outbound_urls import OutboundUrlPolicy, parse_networks
from protocol.tasks import (
    DAILY_DIGEST,
    EXPIRE_INSTRUCTIONS,
    NOTIFY_NEW_RECOMMENDATIONS,
    REFRESH_PRICING,
    RUN_CLUSTER_ANALYSIS,
    SCHEDULE_ALL_ANALYSES,
)
from recommender.gpu.mig_layouts import parse_mig_config
from workers.errors import TemporaryError
from workers.pricing import current_pricebook, refresh_catalogues, refresh_spot_advisor
from workers.tasks.analysis_job import AnalysisOutcome, analyse_and_store, clusters_to_analyse
from workers.tasks.maintenance_jobs import expire_all, send_digests
from workers.tasks.runtime import Clients, TaskRuntime, run_job
from workers.webhook_digest import WebhookDigest

log = structlog.get_logger(__name__)


def register_tasks(app: Celery, runtime: TaskRuntime) -> None:
    """Register every task of `protocol.tasks` but the notifications on `app`."""
    settings = runtime.settings
    mig_config = (
        None
        if settings.mig_config_path is None
        else parse_mig_config(Path(settings.mig_config_path).read_text())
    )
    retrying: dict[str, Any] = {
        # Not shared: a shared task is added to every app created afterwards, with this app's
        # settings captured in its closure.
        "shared": False,
        "autoretry_for": (TemporaryError,),
        "retry_backoff": True,
        "retry_backoff_max": settings.task_retry_backoff_max_seconds,
        "retry_jitter": True,
        "max_retries": settings.task_retry_max,
    }

    @app.task(name=RUN_CLUSTER_ANALYSIS, **retrying)  # type: ignore[untyped-decorator]
    def run_cluster(tenant_id: str, cluster_id: str) -> dict[str, float]:
        async def job(clients: Clients) -> AnalysisOutcome:
            return await analyse_and_store(
                clients.database,
                await current_pricebook(clients.redis),
                uuid.UUID(tenant_id),
                uuid.UUID(cluster_id),
                now=runtime.clock(),
                mig_config=mig_config,
            )

        outcome = run_job(settings, job)
        if outcome.created_ids:
            app.send_task(
                NOTIFY_NEW_RECOMMENDATIONS,
                args=[tenant_id, [str(rec_id) for rec_id in outcome.created_ids]],
                ignore_result=True,
            )
        return {
            "created": outcome.created,
            "updated": outcome.updated,
            "superseded": outcome.superseded,
            "monthly_cost_usd": outcome.monthly_cost_usd,
        }

    @app.task(name=SCHEDULE_ALL_ANALYSES, **retrying)  # type: ignore[untyped-decorator]
    def schedule_all() -> int:
        async def job(clients: Clients) -> list[tuple[uuid.UUID, uuid.UUID]]:
            return await clusters_to_analyse(clients.database)

        pairs = run_job(settings, job)
        for tenant_id, cluster_id in pairs:
            app.send_task(
                RUN_CLUSTER_ANALYSIS, args=[str(tenant_id), str(cluster_id)], ignore_result=True
            )
        return len(pairs)

    @app.task(name=EXPIRE_INSTRUCTIONS, **retrying)  # type: ignore[untyped-decorator]
    def expire() -> int:
        async def job(clients: Clients) -> int:
            return await expire_all(clients.database, now=runtime.clock())

        return run_job(settings, job)

    @app.task(name=REFRESH_PRICING, **retrying)  # type: ignore[untyped-decorator]
    def refresh_pricing() -> list[str]:
        catalogue_url, advisor_url = settings.pricing_url, settings.spot_advisor_url
        if catalogue_url is None and advisor_url is None:
            log.info("no pricing URLs configured; the bundled price data stays in use")
            return []

        async def job(clients: Clients) -> list[str]:
            refreshed: list[str] = []
            async with httpx.AsyncClient(timeout=30.0, follow_redirects=True) as client:
                if catalogue_url is not None:
                    refreshed += await refresh_catalogues(clients.redis, client, catalogue_url)
                if advisor_url is not None:
                    await refresh_spot_advisor(clients.redis, client, advisor_url)
                    refreshed.append("spot-advisor")
            return refreshed

        return run_job(settings, job)

    @app.task(name=DAILY_DIGEST, **retrying)  # type: ignore[untyped-decorator]
    def daily_digest() -> int:
        async def job(clients: Clients) -> int:
            now = runtime.clock()
            sink = runtime.digest_sink or WebhookDigest(
                clients.database,
                OutboundUrlPolicy(
                    allowed_networks=parse_networks(settings.webhook_allowed_networks)
                ),
                now,
            )
            return await send_digests(clients.database, sink, clients.redis, day=now.date())

        return run_job(settings, job)
