"""Idle-GPU notices: find workloads whose GPUs stayed idle, and tell the tenant's webhook once.

Detection reads the hourly rollups of the last day and a half (the GPUs each workload held per
node and hour, their duty cycle and their cost at the allocation's GPU rate), finds episodes with
the tenant's threshold and window (`idle_gpu_threshold`, default 5 %, and `idle_gpu_hours`,
default 4, in the tenant settings), and records them: an episode is one workload's unbroken quiet
run, so it is announced once however many runs see it. Delivery posts each undelivered ongoing
episode to the tenant's webhook, one message per workload; a failed attempt is recorded with its
error (shown in the console) and tried again at the next run, up to `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from celery import Celery

from auth.outbound_urls import OutboundUrlPolicy, parse_networks
from protocol.tasks import NOTIFY_IDLE_GPUS
from recommender.cost.idle_gpus import (
    DEFAULT_HOURS,
    DEFAULT_THRESHOLD,
    IdleGpuPolicy,
    idle_workload_episodes,
)
from store.database import Database
from store.repositories.gpu_rollups import workload_gpu_hours
from store.repositories.idle_gpu_episodes import IdleGpuEpisodeRepository, IdleGpuEpisodeView
from store.repositories.tenant_policy import (
    IDLE_GPU_HOURS,
    IDLE_GPU_THRESHOLD,
    policy_from_settings,
)
from store.repositories.tenants import TenantRepository
from workers.errors import PermanentError, TemporaryError
from workers.notifications import post_webhook, slack_escape
from workers.settings import WorkerSettings
from workers.tasks.maintenance_jobs import tenants_with_clusters
from workers.tasks.runtime import Clients, run_job, utc_now
from workers.webhook_transport import PublicAddressTransport

log = structlog.get_logger(__name__)

THRESHOLD_SETTING = IDLE_GPU_THRESHOLD
HOURS_SETTING = IDLE_GPU_HOURS
LOOKBACK = timedelta(hours=36)
MAX_ATTEMPTS = 8
HOUR = timedelta(hours=1)
IDLE_GPU_CHECK = timedelta(minutes=5)
"""How often beat asks for the check (episodes are measured in whole hours)."""
MESSAGE_NODES = 5
"""Nodes named one by one in a notice; the rest are counted."""


def idle_policy(settings: Mapping[str, Any]) -> IdleGpuPolicy:
    """The tenant's idle-GPU threshold and window; anything malformed reads as the default."""
    threshold = settings.get(THRESHOLD_SETTING, DEFAULT_THRESHOLD)
    hours = settings.get(HOURS_SETTING, DEFAULT_HOURS)
    valid_threshold = isinstance(threshold, int | float) and 0 < threshold < 1
    valid_hours = isinstance(hours, int) and not isinstance(hours, bool) and 1 <= hours <= 168
    return IdleGpuPolicy(
        threshold=float(threshold) if valid_threshold else DEFAULT_THRESHOLD,
        hours=hours if valid_hours else DEFAULT_HOURS,
    )


def _owners(episode: IdleGpuEpisodeView) -> str:
    return ", ".join(f"{k}={v}" for k, v in episode.owners.items())


def _nodes(episode: IdleGpuEpisodeView) -> str:
    named = ", ".join(episode.nodes[:MESSAGE_NODES])
    more = len(episode.nodes) - MESSAGE_NODES
    return named + (f" and {more} more" if more > 0 else "")


def idle_gpu_message(episode: IdleGpuEpisodeView, *, console_url: str = "") -> dict[str, Any]:
    """The Slack-compatible payload announcing one workload's idle GPUs.

    The text names the workload, its namespace, owners, nodes and what its idle GPUs cost a day
    (for clients that show only text); a section of fields gives the same one by one.
    """
    owners = _owners(episode) or "no owner labels"
    cost = f"${episode.cost_per_day_usd:,.2f}"
    text = (
        f"Idle GPUs: {episode.namespace}/{episode.workload} ({owners}) holds "
        f"{episode.gpus:g} GPUs on {_nodes(episode)} under {episode.mean_duty:.0%} duty since "
        f"{episode.started_at:%d %b %H:%M} UTC, costing {cost}/day"
    )
    lines = [f":zzz: *{slack_escape(text)}* · cluster {slack_escape(episode.cluster_name)}"]
    if console_url:
        lines.append(f"<{console_url.rstrip('/')}/console/cost|Open the cost page>")
    fields = {
        "Workload": episode.workload,
        "Namespace": episode.namespace,
        "Owners": owners,
        "Cost per day": f"{cost} for {episode.gpus:g} idle GPUs",
        "Nodes": _nodes(episode),
        "Idle since": f"{episode.started_at:%d %b %H:%M} UTC",
    }
    return {
        "text": slack_escape(text),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{title}*\n{slack_escape(value)}"}
                    for title, value in fields.items()
                ],
            },
        ],
    }


@dataclass(frozen=True)
class IdleGpuNotifier:
    """Detects idle-GPU episodes and delivers their notices."""

    outbound: OutboundUrlPolicy
    console_url: str = ""
    timeout_seconds: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None

    async def run(self, database: Database, tenant_id: uuid.UUID, *, now: datetime) -> int:
        """Record the tenant's episodes and deliver what is due; returns notices delivered."""
        latest = now.replace(minute=0, second=0, microsecond=0) - HOUR
        async with database.tenant(tenant_id) as session:
            settings = (await TenantRepository(session).current()).settings
            rows = await workload_gpu_hours(
                session, tenant_id, start=latest - LOOKBACK, end=latest + HOUR
            )
            policy = idle_policy(settings)
            found = idle_workload_episodes(rows, policy, latest=latest)
            episodes = IdleGpuEpisodeRepository(session, tenant_id)
            await episodes.record(found, now=now)
            webhook = policy_from_settings(settings).webhook_url
            due = await episodes.undelivered(max_attempts=MAX_ATTEMPTS) if webhook else []
        if webhook is None:
            return 0
        delivered = 0
        for episode in due:
            outcome = await self._deliver(webhook, episode)
            async with database.tenant(tenant_id) as session:
                repository = IdleGpuEpisodeRepository(session, tenant_id)
                if outcome is None:
                    await repository.delivered(episode, at=now)
                    delivered += 1
                else:
                    await repository.failed(episode, outcome)
        return delivered

    async def _deliver(self, url: str, episode: IdleGpuEpisodeView) -> str | None:
        """None when delivered; else the error, to be shown and tried again."""
        transport = self.transport or PublicAddressTransport(self.outbound)
        message = idle_gpu_message(episode, console_url=self.console_url)
        workload = f"{episode.namespace}/{episode.workload}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds, transport=transport) as c:
                await post_webhook(c, url, message, self.outbound)
        except (TemporaryError, PermanentError) as e:
            log.warning("idle-GPU notice not delivered", workload=workload, error=str(e))
            return str(e)
        log.info("idle-GPU notice delivered", workload=workload)
        return None


async def notify_idle_gpus(database: Database, notifier: IdleGpuNotifier, *, now: datetime) -> int:
    """Run detection and delivery for every tenant with a cluster; returns notices delivered."""
    delivered = 0
    for tenant_id in await tenants_with_clusters(database):
        delivered += await notifier.run(database, tenant_id, now=now)
    return delivered


def register_idle_gpu_task(
    app: Celery, settings: WorkerSettings, *, notifier: IdleGpuNotifier | None = None
) -> None:
    """Register the idle-GPU check on `app` (failed deliveries wait for the next run)."""
    chosen = notifier or IdleGpuNotifier(
        OutboundUrlPolicy(allowed_networks=parse_networks(settings.webhook_allowed_networks))
    )

    @app.task(  # type: ignore[untyped-decorator]
        name=NOTIFY_IDLE_GPUS,
        shared=False,
        autoretry_for=(TemporaryError,),
        retry_backoff=True,
        retry_backoff_max=settings.task_retry_backoff_max_seconds,
        max_retries=settings.task_retry_max,
    )
    def idle_gpus() -> int:
        async def job(clients: Clients) -> int:
            return await notify_idle_gpus(clients.database, chosen, now=utc_now())

        return run_job(settings, job)
