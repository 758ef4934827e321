"""Idle-GPU notices: find nodes whose GPUs stayed idle, and tell the tenant's webhook once.

Detection reads the hourly rollups (duty cycle per GPU node and hour) of the last day, finds
episodes with the tenant's threshold and window (`idle_gpu_threshold`, default 5 %, and
`idle_gpu_hours`, default 4, in the tenant settings), and records them: an episode is one node's
unbroken quiet run, so it is announced once however many runs see it. Delivery posts each
undelivered ongoing episode to the tenant's webhook; a failed attempt is recorded with its error
(shown in the console) and tried again at the next run, up to `MAX_ATTEMPTS`.
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
from sqlalchemy.ext.asyncio import AsyncSession

from auth.outbound_urls import OutboundUrlPolicy, parse_networks
from protocol.tasks import NOTIFY_IDLE_GPUS
from recommender.cost.idle_gpus import (
    DEFAULT_HOURS,
    DEFAULT_THRESHOLD,
    IdleGpuEpisode,
    IdleGpuPolicy,
    NodeDutyHour,
    idle_gpu_episodes,
)
from store.database import Database
from store.repositories.gpu_rollups import gpu_holders, node_duty_hours
from store.repositories.idle_gpu_episodes import (
    FoundEpisode,
    IdleGpuEpisodeRepository,
    IdleGpuEpisodeView,
)
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
OWNER_LABELS = ("owner", "team", "app.kubernetes.io/owner", "app.kubernetes.io/part-of")
HOUR = timedelta(hours=1)
IDLE_GPU_CHECK = timedelta(minutes=5)
"""How often beat asks for the check (episodes are measured in whole hours)."""


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


MESSAGE_WORKLOADS = 10
"""Workloads named one by one in a notice; the rest are counted."""


def _owners(holder: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in holder.get("owners", {}).items())


def _workload_section(holder: Mapping[str, Any], node: str) -> dict[str, Any]:
    """One workload holding idle GPUs: what it is, who owns it, what its GPUs cost a day."""
    owners = _owners(holder) or "no owner labels"
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": f"*Workload*\n{slack_escape(holder['workload'])}"},
            {"type": "mrkdwn", "text": f"*Namespace*\n{slack_escape(holder['namespace'])}"},
            {"type": "mrkdwn", "text": f"*Owners*\n{slack_escape(owners)}"},
            {
                "type": "mrkdwn",
                "text": f"*Cost per day*\n${holder['gpu_cost_per_day_usd']:,.2f} of GPU on {node}",
            },
        ],
    }


def idle_gpu_message(episode: IdleGpuEpisodeView, *, console_url: str = "") -> dict[str, Any]:
    """The Slack-compatible payload announcing idle GPUs workload by workload.

    The text names each workload holding the node's GPUs with its owners and GPU cost per day
    (for clients that show only text); the blocks give one section per workload.
    """
    node = slack_escape(episode.node)
    holders = sorted(
        episode.holders, key=lambda h: (-float(h["gpu_cost_per_day_usd"]), h["workload"])
    )
    named = [
        f"{h['namespace']}/{h['workload']} ({_owners(h) or 'no owner labels'}, "
        f"${h['gpu_cost_per_day_usd']:,.0f}/day)"
        for h in holders[:MESSAGE_WORKLOADS]
    ]
    more = len(holders) - len(named)
    held = "; ".join(named) + (f"; {more} more" if more > 0 else "") if named else "no workload"
    text = (
        f"Idle GPUs held by {slack_escape(held)} on {node} ({episode.gpus:g} GPUs) under "
        f"{episode.mean_duty:.0%} duty since {episode.started_at:%d %b %H:%M} UTC, costing "
        f"${episode.cost_per_day_usd:,.0f}/day"
    )
    lines = [f":zzz: *{text}* · cluster {slack_escape(episode.cluster_name)}"]
    for holder in holders[:MESSAGE_WORKLOADS]:
        owners = _owners(holder)
        lines.append(
            f"• {slack_escape(holder['namespace'])}/{slack_escape(holder['workload'])}"
            f" · ${holder['gpu_cost_per_day_usd']:,.0f}/day of GPU"
            + (f" · {slack_escape(owners)}" if owners else "")
        )
    if console_url:
        lines.append(f"<{console_url.rstrip('/')}/console/cost|Open the cost page>")
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            *(_workload_section(h, node) for h in holders[:MESSAGE_WORKLOADS]),
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
            policy = idle_policy(settings)
            rows = await node_duty_hours(
                session, tenant_id, start=latest - LOOKBACK, end=latest + HOUR
            )
            hours = [
                NodeDutyHour(
                    str(r.cluster_id), r.node, r.hour, r.duty, r.gpus, r.cost_usd, r.seconds
                )
                for r in rows
            ]
            found = [
                await self._found(session, tenant_id, episode, latest)
                for episode in idle_gpu_episodes(hours, policy, latest=latest)
            ]
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

    @staticmethod
    async def _found(
        session: AsyncSession, tenant_id: uuid.UUID, episode: IdleGpuEpisode, latest: datetime
    ) -> FoundEpisode:
        cluster_id = uuid.UUID(episode.cluster_id)
        end = latest + HOUR
        holders = await gpu_holders(
            session, tenant_id, cluster_id, episode.node, start=episode.started_at, end=end
        )
        days = (end - episode.started_at) / timedelta(days=1)
        return FoundEpisode(
            cluster_id=cluster_id,
            node=episode.node,
            started_at=episode.started_at,
            mean_duty=episode.mean_duty,
            gpus=episode.gpus,
            cost_per_day_usd=episode.cost_per_day_usd,
            holders=[
                {
                    "namespace": h.namespace,
                    "workload": h.workload,
                    "owners": {k: h.labels[k] for k in OWNER_LABELS if k in h.labels},
                    "gpu_cost_per_day_usd": round(h.gpu_usd / days, 2) if days > 0 else 0.0,
                }
                for h in holders
            ],
        )

    async def _deliver(self, url: str, episode: IdleGpuEpisodeView) -> str | None:
        """None when delivered; else the error, to be shown and tried again."""
        transport = self.transport or PublicAddressTransport(self.outbound)
        message = idle_gpu_message(episode, console_url=self.console_url)
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds, transport=transport) as c:
                await post_webhook(c, url, message, self.outbound)
        except (TemporaryError, PermanentError) as e:
            log.warning("idle-GPU notice not delivered", node=episode.node, error=str(e))
            return str(e)
        log.info("idle-GPU notice delivered", node=episode.node)
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
