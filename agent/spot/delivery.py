"""Where a watcher's notices go: the gateway uplink and, when configured, the executor.

Each destination takes a notice on its own: a spool that cannot be written never keeps a notice
from the executor, nor an unreachable executor from the gateway. Taking a notice only queues
it; each destination's sender then retries apart from the other's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import httpx2
import structlog

from agent.backoff import Backoff
from agent.clock import utc_now
from agent.errors import TemporaryError
from agent.metrics import AgentMetrics
from agent.settings import AgentSettings
from agent.spot.executor_relay import ExecutorRelay
from agent.spot.watcher import NoticeSink
from protocol.spot import SpotNotice


class NoticeFanOut:
    """Hands each notice to every sink; remembers which sinks took it, so a retry skips them."""

    def __init__(self, sinks: Mapping[str, NoticeSink]) -> None:
        """Deliver to `sinks` (by name), in their order."""
        self._sinks = dict(sinks)
        self._taken: set[tuple[str, uuid.UUID]] = set()

    async def submit_notice(self, notice: SpotNotice) -> None:
        """Give the notice to each sink that has not taken it yet.

        Raises `TemporaryError` naming the sinks that failed, after every other sink had its
        turn; the watcher then offers the notice again on its next poll.
        """
        failed: list[str] = []
        for name, sink in self._sinks.items():
            key = (name, notice.notice_id)
            if key in self._taken:
                continue
            try:
                await sink.submit_notice(notice)
            except TemporaryError as e:
                failed.append(f"{name}: {e}")
                continue
            self._taken.add(key)
        if failed:
            raise TemporaryError("notice not queued for " + "; ".join(failed))


@dataclass
class NoticeDelivery:
    """The sink a watcher submits to, and the executor relay behind it (if any) to run."""

    sink: NoticeSink
    relay: ExecutorRelay | None = None

    async def aclose(self) -> None:
        """Close the relay's HTTP client."""
        if self.relay is not None:
            await self.relay.aclose()


def executor_relay(
    settings: AgentSettings, metrics: AgentMetrics | None = None
) -> ExecutorRelay | None:
    """A relay to the executor's notice endpoint, or None when no executor URL is set."""
    if not settings.executor_url:
        return None
    token = settings.executor_token
    # In-cluster traffic: never through an outbound proxy.
    http = httpx2.AsyncClient(
        timeout=httpx2.Timeout(settings.executor_timeout_seconds), trust_env=False
    )
    return ExecutorRelay(
        http,
        settings.executor_url,
        token=token.get_secret_value() if token is not None else None,
        backoff=Backoff(base=0.1, cap=settings.notice_retry_max_seconds),
        clock=utc_now,
        metrics=metrics,
    )


def notice_delivery(
    settings: AgentSettings, gateway: NoticeSink, metrics: AgentMetrics | None = None
) -> NoticeDelivery:
    """Notices to the executor first (in memory, at once), then to the gateway's spool."""
    relay = executor_relay(settings, metrics)
    if relay is None:
        structlog.get_logger("agent.spot").warning(
            "executor_url_unset", detail="spot notices go to the gateway only"
        )
        return NoticeDelivery(gateway)
    return NoticeDelivery(NoticeFanOut({"executor": relay, "gateway": gateway}), relay)
