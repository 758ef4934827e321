"""The daily digest delivered to each tenant's chat webhook (a log line where none is set).

One message per tenant and day: open recommendations and their projected saving counted once
per group of alternatives, the workloads holding idle GPUs right now with what those cost a
day, and yesterday's spend against the day before, measured by cost allocation. A receiver
that is down makes the digest task retry; tenants already served that day are skipped (see
`send_digests`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from auth.outbound_urls import OutboundUrlPolicy
from store.database import Database
from store.repositories.console_queries import ConsoleQueries
from store.repositories.cost_rollups import CostFilter, CostRollupRepository
from store.repositories.idle_gpu_episodes import IdleGpuEpisodeRepository, IdleGpuEpisodeView
from store.repositories.recommendations import OpenSummary
from store.repositories.tenant_policy import TenantPolicyRepository
from workers.notifications import post_webhook, slack_escape
from workers.tasks.maintenance_jobs import LoggedDigest
from workers.webhook_transport import PublicAddressTransport

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DigestFigures:
    """What one tenant's digest says."""

    open_count: int
    projected_saving_usd: float
    idle: list[IdleGpuEpisodeView]
    spend_yesterday_usd: float
    spend_day_before_usd: float


def digest_message(figures: DigestFigures, *, console_url: str = "") -> dict[str, Any]:
    """The Slack-compatible payload of one digest."""
    change = figures.spend_yesterday_usd - figures.spend_day_before_usd
    text = (
        f"Slicewise daily digest: {figures.open_count} open recommendations worth "
        f"${figures.projected_saving_usd:,.0f}/month"
    )
    sign = "+" if change >= 0 else "-"
    spend = f"Spend yesterday ${figures.spend_yesterday_usd:,.2f}"
    lines = [
        f"*{text}* (alternatives on one workload or node counted once)",
        f"{spend} ({sign}${abs(change):,.2f} against the day before)",
    ]
    if figures.idle:
        lines.append(f"{len(figures.idle)} workload(s) holding idle GPUs now:")
        lines += [
            f"• {slack_escape(e.namespace)}/{slack_escape(e.workload)} "
            f"({slack_escape(e.cluster_name)}) since "
            f"{e.started_at:%d %b %H:%M} UTC, ${e.cost_per_day_usd:,.0f}/day"
            for e in figures.idle[:10]
        ]
    if console_url:
        lines.append(f"<{console_url.rstrip('/')}/console|Open the console>")
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
    }


@dataclass(frozen=True)
class WebhookDigest:
    """A digest sink posting to the tenant's webhook, logging for tenants without one."""

    database: Database
    outbound: OutboundUrlPolicy
    now: datetime
    console_url: str = ""
    transport: httpx.AsyncBaseTransport | None = None
    timeout_seconds: float = 10.0
    fallback: LoggedDigest = field(default_factory=LoggedDigest)

    async def deliver(self, tenant_id: uuid.UUID, summaries: list[OpenSummary]) -> None:
        """Post the tenant's digest (TemporaryError when the receiver may recover)."""
        today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self.database.tenant(tenant_id) as session:
            webhook = (await TenantPolicyRepository(session, tenant_id).get()).webhook_url
            if webhook is None:
                await self.fallback.deliver(tenant_id, summaries)
                return
            totals = await ConsoleQueries(session, tenant_id).totals(now=self.now)
            episodes = await IdleGpuEpisodeRepository(session, tenant_id).recent()
            rollups = CostRollupRepository(session, tenant_id)
            yesterday, _ = await rollups.idle(CostFilter(today - DAY, today))
            day_before, _ = await rollups.idle(CostFilter(today - 2 * DAY, today - DAY))
        figures = DigestFigures(
            open_count=totals.open_count,
            projected_saving_usd=totals.open_saving_usd,
            idle=[e for e in episodes if e.ended_at is None],
            spend_yesterday_usd=yesterday,
            spend_day_before_usd=day_before,
        )
        transport = self.transport or PublicAddressTransport(self.outbound)
        async with httpx.AsyncClient(timeout=self.timeout_seconds, transport=transport) as client:
            await post_webhook(
                client,
                webhook,
                digest_message(figures, console_url=self.console_url),
                self.outbound,
            )
