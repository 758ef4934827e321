"""Posting spot notices to the executor inside the cluster, beside the upload to the gateway.

The executor evacuates a node on its own when the SaaS does not answer a notice in time, so it
must hear of every notice even while the cluster cannot reach the SaaS. This relay posts each
notice to the executor's notice endpoint with its own HTTP client and backoff, apart from the
gateway uplink: neither ever waits for the other. A notice is retried until the executor takes
it or its deadline passes (the node is gone then). Notices wait in memory only: a restarted
watcher sees the still-announced event again and sends it anew, under the same id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx2
import structlog

from agent.backoff import Backoff
from agent.clock import Clock
from agent.errors import PermanentError, TemporaryError
from agent.metrics import AgentMetrics
from protocol.spot import SpotNotice

NOTICES_PATH = "/v1/spot-notices"
NO_DEADLINE_RETRY = timedelta(minutes=5)
"""How long a notice without a deadline (a rebalance recommendation) is retried."""
RETRYABLE_STATUS = frozenset({408, 425, 429})
MAX_DETAIL = 300


class ExecutorRefusedError(PermanentError):
    """The executor refused a notice for good (a 4xx other than 408/425/429)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        super().__init__(f"executor refused the notice with HTTP {status}: {detail}")


@dataclass
class RelayStats:
    """Counters, for logs and tests."""

    sent: int = 0
    refused: int = 0
    expired: int = 0
    failures: int = 0


class ExecutorRelay:
    """Delivers spot notices to the executor's in-cluster endpoint."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        base_url: str,
        *,
        token: str | None,
        backoff: Backoff,
        clock: Clock,
        metrics: AgentMetrics | None = None,
    ) -> None:
        """Post to `base_url` through `http` (closed by `aclose`), with `token` if set."""
        self._metrics = metrics or AgentMetrics()
        self._http = http
        self._url = f"{base_url.rstrip('/')}{NOTICES_PATH}"
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._backoff = backoff
        self._clock = clock
        self._pending: dict[uuid.UUID, SpotNotice] = {}
        # Set at start too: run() then looks at the queue at once.
        self._wake = asyncio.Event()
        self._wake.set()
        self._stats_changed = asyncio.Condition()
        self.stats = RelayStats()
        self._log = structlog.get_logger("agent.executor_relay")

    async def submit_notice(self, notice: SpotNotice) -> None:
        """Queue a notice (once per id) and wake the sender."""
        self._pending.setdefault(notice.notice_id, notice)
        self._wake.set()

    async def run(self) -> None:
        """Send queued notices until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._drain()

    async def wait_for(self, condition: Callable[[RelayStats], bool], within: float = 30.0) -> None:
        """Wait until `condition(stats)` holds (for health probes and tests)."""
        async with asyncio.timeout(within), self._stats_changed:
            await self._stats_changed.wait_for(lambda: condition(self.stats))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    def _give_up_at(self, notice: SpotNotice) -> datetime:
        return notice.deadline or notice.detected_at + NO_DEADLINE_RETRY

    async def _drain(self) -> None:
        """Send queued notices oldest first, retrying temporary failures with backoff."""
        while self._pending:
            notice = next(iter(self._pending.values()))
            left = (self._give_up_at(notice) - self._clock()).total_seconds()
            if left <= 0:
                del self._pending[notice.notice_id]
                self.stats.expired += 1
                self._metrics.notices_relayed.labels("expired").inc()
                self._log.error("notice_expired_unsent", notice_id=str(notice.notice_id))
                await self._notify()
                continue
            try:
                await self._post(notice)
            except ExecutorRefusedError as e:
                del self._pending[notice.notice_id]
                self.stats.refused += 1
                self._metrics.notices_relayed.labels("refused").inc()
                self._log.error("notice_refused", notice_id=str(notice.notice_id), error=str(e))
                await self._notify()
                continue
            except TemporaryError as e:
                self.stats.failures += 1
                await self._notify()
                delay = min(self._backoff.next_delay(), left)
                self._log.warning("send_failed", error=str(e), retry_in=round(delay, 2))
                await asyncio.sleep(delay)
                continue
            del self._pending[notice.notice_id]
            self._backoff.reset()
            self.stats.sent += 1
            self._metrics.notices_relayed.labels("sent").inc()
            self._log.info("notice_sent", notice_id=str(notice.notice_id))
            await self._notify()

    async def _post(self, notice: SpotNotice) -> None:
        """POST one notice; returns on 2xx, raises `TemporaryError` or `ExecutorRefusedError`."""
        body = notice.model_dump_json().encode()
        try:
            response = await self._http.post(self._url, content=body, headers=self._headers)
        except httpx2.HTTPError as e:
            raise TemporaryError(f"executor unreachable: {type(e).__name__}: {e}") from e
        if response.is_success:
            return
        detail = response.text[:MAX_DETAIL]
        if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
            raise TemporaryError(f"executor answered HTTP {response.status_code}: {detail}")
        raise ExecutorRefusedError(response.status_code, detail)

    async def _notify(self) -> None:
        async with self._stats_changed:
            self._stats_changed.notify_all()
