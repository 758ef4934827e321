"""Webhook notifications: new high-value recommendations, and instructions executed or failed.

Each tenant's admins may set a webhook URL (Slack incoming webhooks and compatible receivers take
the `{"text": ..., "blocks": [...]}` payload sent here) and a minimum monthly saving worth
announcing (default $500) in the tenant policy (`store.repositories.tenant_policy`). The URL is
checked again before every request of a delivery, every redirect is followed by hand, and the
connection goes to the address that passed the check (`workers.webhook_transport`), so a name
re-pointed at an internal address, or a redirect to one, is refused, never called.

The tasks are sent by name, so the gateway (the instruction results route) and the analysis
task can queue them without importing this module; they retry with exponential back-off when
the receiver is down or answers 429/5xx, give up on other 4xx, and remember
what they delivered for a week so a redelivered task does not post twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from celery import Celery

from auth.outbound_urls import OutboundUrlPolicy, UnsafeUrlError, parse_networks
from protocol.tasks import NOTIFY_INSTRUCTION_RESULT, NOTIFY_NEW_RECOMMENDATIONS
from store.errors import NotFoundError
from store.repositories.console_instructions import InstructionQueries, InstructionSummary
from store.repositories.console_queries import (
    ConsoleQueries,
    RecommendationSummary,
)
from store.repositories.tenant_policy import TenantPolicy, TenantPolicyRepository
from workers.errors import PermanentError, TemporaryError
from workers.settings import WorkerSettings
from workers.tasks.runtime import Clients, run_job, utc_now
from workers.webhook_transport import PublicAddressTransport

log = structlog.get_logger(__name__)


MAX_REDIRECTS = 3
MAX_LISTED = 10
"""Slack shows at most 50 blocks; ten recommendations keep a message readable."""
DELIVERED_TTL_SECONDS = 7 * 86_400
_FAILED_OUTCOMES = frozenset({"failed", "refused", "rolled-back"})


@dataclass(frozen=True)
class Webhook:
    """Where and above which saving a tenant wants to hear about recommendations."""

    url: str
    min_saving_usd: float


def slack_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: `&`, `<` and `>` are control characters there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _money(value: float) -> str:
    return f"${value:,.0f}"


def _link(console_url: str, path: str, label: str) -> str:
    if not console_url:
        return f"*{slack_escape(label)}*"
    return f"*<{console_url.rstrip('/')}{path}|{slack_escape(label)}>*"


def recommendations_message(
    items: Sequence[RecommendationSummary], *, console_url: str = ""
) -> dict[str, Any]:
    """The payload announcing `items` (largest saving first, at most ten listed)."""
    ordered = sorted(items, key=lambda r: r.monthly_saving_usd, reverse=True)
    total = sum(r.monthly_saving_usd for r in ordered)
    noun = "recommendation" if len(ordered) == 1 else "recommendations"
    text = f"{len(ordered)} new {noun} worth {_money(total)}/month"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Slicewise: {text}"}}
    ]
    for rec in ordered[:MAX_LISTED]:
        title = _link(console_url, f"/console/recommendations/{rec.id}", rec.title)
        detail = (
            f"{_money(rec.monthly_saving_usd)}/month · {rec.kind} · {rec.risk} risk · "
            f"cluster {slack_escape(rec.cluster_name)}"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"{title}\n{detail}"}})
    if len(ordered) > MAX_LISTED:
        more = f"…and {len(ordered) - MAX_LISTED} more in the console"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {"text": text, "blocks": blocks}


def instruction_message(
    instruction: InstructionSummary,
    recommendation: RecommendationSummary | None,
    *,
    console_url: str = "",
) -> dict[str, Any]:
    """The payload announcing what the executor did with `instruction`."""
    outcome = instruction.outcome or instruction.status
    failed = outcome in _FAILED_OUTCOMES
    title = instruction.recommendation_title or f"instruction {instruction.id}"
    verb = "Failed" if failed else "Applied" if outcome == "applied" else outcome.capitalize()
    text = slack_escape(f"{verb} on {instruction.cluster_name}: {title}")
    icon = ":x:" if failed else ":white_check_mark:"
    lines = [f"{icon} *{verb}* on cluster {slack_escape(instruction.cluster_name)}"]
    if recommendation is not None:
        path = f"/console/recommendations/{recommendation.id}"
        saving = _money(recommendation.monthly_saving_usd)
        lines.append(f"{_link(console_url, path, recommendation.title)} · saves {saving}/month")
    reason = (instruction.result or {}).get("reason")
    if isinstance(reason, str) and reason:
        lines.append(f"Reason: {slack_escape(reason)}")
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
    }


def _webhook(policy: TenantPolicy) -> Webhook | None:
    if policy.webhook_url is None:
        return None
    return Webhook(policy.webhook_url, policy.notify_min_saving_usd)


async def post_webhook(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    outbound: OutboundUrlPolicy | None = None,
) -> None:
    """POST the payload; TemporaryError for what a retry may cure, PermanentError otherwise.

    Each hop, the first included, is checked against `outbound` before it is requested, and
    redirects (at most three) are followed here rather than by the client for that reason.
    """
    guard = outbound or OutboundUrlPolicy()
    target = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            await guard.check(str(target))
        except UnsafeUrlError as e:
            raise PermanentError(f"webhook target refused ({e.reason}): {e}") from e
        try:
            response = await client.post(target, json=payload, follow_redirects=False)
        except httpx.TransportError as e:
            raise TemporaryError(f"webhook unreachable: {type(e).__name__}") from e
        if not response.has_redirect_location:
            break
        target = target.join(response.headers["location"])
    else:
        raise PermanentError(f"webhook redirected more than {MAX_REDIRECTS} times")
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryError(f"webhook answered {response.status_code}")
    if response.status_code >= 300:
        raise PermanentError(f"webhook refused the message: {response.status_code}")


@dataclass(frozen=True)
class NotificationSender:
    """Loads what to announce, builds the message and delivers it once."""

    console_url: str = ""
    timeout_seconds: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None
    key_prefix: str = "slicewise:notified:"
    outbound: OutboundUrlPolicy = field(default_factory=OutboundUrlPolicy)
    """Which webhook URLs may be called (public addresses only unless the operator allows)."""

    async def new_recommendations(
        self, clients: Clients, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> int:
        """Announce those of `ids` saving at least the tenant's threshold; returns how many."""
        async with clients.database.tenant(tenant_id) as session:
            webhook = _webhook(await TenantPolicyRepository(session, tenant_id).get())
            if webhook is None:
                return 0
            queries = ConsoleQueries(session, tenant_id)
            found = [await _recommendation(queries, rec_id) for rec_id in ids]
        worth = [
            r for r in found if r is not None and r.monthly_saving_usd >= webhook.min_saving_usd
        ]
        if not worth:
            return 0
        key = "recommendations:" + ",".join(sorted(str(r.id) for r in worth))
        message = recommendations_message(worth, console_url=self.console_url)
        await self._deliver_once(clients, tenant_id, key, webhook.url, message)
        return len(worth)

    async def instruction_result(
        self, clients: Clients, tenant_id: uuid.UUID, instruction_id: uuid.UUID
    ) -> bool:
        """Announce a completed instruction; False when there is nothing to announce."""
        async with clients.database.tenant(tenant_id) as session:
            webhook = _webhook(await TenantPolicyRepository(session, tenant_id).get())
            if webhook is None:
                return False
            queries = ConsoleQueries(session, tenant_id)
            instruction = await InstructionQueries(session, tenant_id).instruction(instruction_id)
            recommendation = None
            if instruction.recommendation_id is not None:
                recommendation = await _recommendation(queries, instruction.recommendation_id)
        if instruction.result is None:
            return False
        message = instruction_message(instruction, recommendation, console_url=self.console_url)
        await self._deliver_once(
            clients, tenant_id, f"instruction:{instruction_id}", webhook.url, message
        )
        return True

    async def _deliver_once(
        self,
        clients: Clients,
        tenant_id: uuid.UUID,
        key: str,
        url: str,
        payload: dict[str, Any],
    ) -> None:
        digest = hashlib.sha256(f"{tenant_id}:{key}".encode()).hexdigest()
        marker = f"{self.key_prefix}{digest}"
        if await clients.redis.exists(marker):
            log.info("notification already delivered", tenant_id=str(tenant_id))
            return
        transport = self.transport or PublicAddressTransport(self.outbound)
        async with httpx.AsyncClient(timeout=self.timeout_seconds, transport=transport) as client:
            await post_webhook(client, url, payload, self.outbound)
        await clients.redis.set(marker, "1", ex=DELIVERED_TTL_SECONDS)
        log.info("notification delivered", tenant_id=str(tenant_id))


async def _recommendation(
    queries: ConsoleQueries, recommendation_id: uuid.UUID
) -> RecommendationSummary | None:
    try:
        return (await queries.recommendation(recommendation_id, now=utc_now())).summary
    except NotFoundError:
        return None


def register_notification_tasks(
    app: Celery, settings: WorkerSettings, *, sender: NotificationSender | None = None
) -> None:
    """Register the two notification tasks on `app`, retried like every other task."""
    notify = sender or NotificationSender(
        outbound=OutboundUrlPolicy(
            allowed_networks=parse_networks(settings.webhook_allowed_networks)
        )
    )
    retrying: dict[str, Any] = {
        # Registered on `app` only: shared tasks would follow every app created later.
        "shared": False,
        "autoretry_for": (TemporaryError,),
        "retry_backoff": True,
        "retry_backoff_max": settings.task_retry_backoff_max_seconds,
        "retry_jitter": True,
        "max_retries": settings.task_retry_max,
    }

    @app.task(name=NOTIFY_NEW_RECOMMENDATIONS, **retrying)  # type: ignore[untyped-decorator]
    def new_recommendations(tenant_id: str, recommendation_ids: list[str]) -> int:
        ids = [uuid.UUID(value) for value in recommendation_ids]

        async def job(clients: Clients) -> int:
            return await notify.new_recommendations(clients, uuid.UUID(tenant_id), ids)

        return run_job(settings, job)

    @app.task(name=NOTIFY_INSTRUCTION_RESULT, **retrying)  # type: ignore[untyped-decorator]
    def instruction_result(tenant_id: str, instruction_id: str) -> bool:
        async def job(clients: Clients) -> bool:
            return await notify.instruction_result(
                clients, uuid.UUID(tenant_id), uuid.UUID(instruction_id)
            )

        return run_job(settings, job)
