"""The uplink: everything goes to the spool first, then two senders drain it.

Spot notices and snapshots have separate senders, HTTP clients and backoffs, so a notice never
waits behind a snapshot upload and retries within seconds while the gateway is down. When the
gateway comes back, pending notices go first: the snapshot sender waits until the notice lane
is empty before each upload. Each lane is sent oldest first.

Deltas (protocol v2) share the snapshot lane, spooled with the tag `delta`, so they go out in
the order they were taken, between the full snapshots they build on. The gateway's answer to a
delta may ask for a full snapshot (`resync`); so does a delta refused for good (the chain of
deltas is broken). The collector takes that request before its next upload. The answer to a
full snapshot is not read for it: the snapshot is the resync, the workers just have not folded
it yet. Until they do, answers to the deltas after it may still ask (at most one more full
snapshot per interval of the workers' lag).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from agent.backoff import Backoff
from agent.errors import RejectedError, TemporaryError, ThrottledError, UnavailableError
from agent.metrics import AgentMetrics
from agent.uplink.gateway import GatewayClient
from agent.uplink.spool import Lane, Spool, tag_of
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.spot import SpotNotice
from protocol.trace_context import inject_http

JSON = "application/json"
GZIP_LEVEL = 6
DELTA_TAG = "delta"


def encode_snapshot(snapshot: ClusterSnapshot | ClusterDelta) -> bytes:
    """The snapshot (or delta) as gzip-compressed JSON (what is spooled and sent)."""
    return gzip.compress(snapshot.model_dump_json().encode(), compresslevel=GZIP_LEVEL)


def asks_for_resync(answer: bytes) -> bool:
    """Whether the gateway's answer to a snapshot or delta asks for a full snapshot next."""
    try:
        document = json.loads(answer)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("resync") is True


@dataclass
class UplinkStats:
    """Counters, for logs and tests."""

    snapshots_sent: int = 0
    deltas_sent: int = 0
    notices_sent: int = 0
    resyncs_requested: int = 0
    refused: int = 0
    failures: dict[Lane, int] = field(default_factory=lambda: dict.fromkeys(Lane, 0))


class Uplink:
    """Spools snapshots and spot notices and delivers them to the gateway, notices first."""

    def __init__(
        self,
        spool: Spool,
        *,
        cluster_id: str,
        snapshots: GatewayClient,
        notices: GatewayClient,
        snapshot_backoff: Backoff | None = None,
        notice_backoff: Backoff | None = None,
        metrics: AgentMetrics | None = None,
    ) -> None:
        """Deliver from `spool`; `snapshots` and `notices` are separate clients on purpose."""
        self.spool = spool
        self.metrics = metrics or AgentMetrics()
        self.metrics.watch_spool(spool)
        self.stats = UplinkStats()
        self._paths = {
            Lane.SNAPSHOTS: f"/v1/clusters/{cluster_id}/snapshots",
            Lane.NOTICES: f"/v1/clusters/{cluster_id}/spot-notices",
        }
        self._delta_path = f"/v1/clusters/{cluster_id}/deltas"
        self._resync_wanted = False
        self._headers = {
            Lane.SNAPSHOTS: {"Content-Type": JSON, "Content-Encoding": "gzip"},
            Lane.NOTICES: {"Content-Type": JSON},
        }
        self._clients = {Lane.SNAPSHOTS: snapshots, Lane.NOTICES: notices}
        self._backoffs = {
            Lane.SNAPSHOTS: snapshot_backoff or Backoff(base=1.0, cap=30.0),
            Lane.NOTICES: notice_backoff or Backoff(base=0.1, cap=2.0),
        }
        # Both wake at start: payloads spooled before a restart are sent first thing.
        self._wake = {lane: asyncio.Event() for lane in Lane}
        for event in self._wake.values():
            event.set()
        self._notices_empty = asyncio.Event()
        self._stats_changed = asyncio.Condition()
        self._log = structlog.get_logger("agent.uplink")
        self._tracer = trace.get_tracer("agent.uplink")

    async def submit_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """Spool a snapshot and wake its sender."""
        payload = await asyncio.to_thread(encode_snapshot, snapshot)
        self.metrics.snapshot_bytes.observe(len(payload))
        await self._spool(Lane.SNAPSHOTS, payload)
        self._wake[Lane.SNAPSHOTS].set()

    async def submit_delta(self, delta: ClusterDelta) -> None:
        """Spool a delta behind the snapshots and deltas before it, and wake their sender."""
        payload = await asyncio.to_thread(encode_snapshot, delta)
        self.metrics.snapshot_bytes.observe(len(payload))
        await self._spool(Lane.SNAPSHOTS, payload, tag=DELTA_TAG)
        self._wake[Lane.SNAPSHOTS].set()

    def take_resync_request(self) -> bool:
        """Whether a full snapshot is wanted (asked by the gateway, or a delta was refused);
        the request is cleared by taking it."""
        wanted, self._resync_wanted = self._resync_wanted, False
        return wanted

    async def submit_notice(self, notice: SpotNotice) -> None:
        """Spool a spot notice and wake its sender, which posts it at once."""
        payload = notice.model_dump_json().encode()
        await self._spool(Lane.NOTICES, payload)
        # Cleared after the file exists: the notice sender sets it only on an empty lane.
        self._notices_empty.clear()
        self._wake[Lane.NOTICES].set()

    async def _spool(self, lane: Lane, payload: bytes, *, tag: str = "") -> None:
        """Write to the spool; a full or broken disk is a temporary error for the caller."""
        try:
            await asyncio.to_thread(self.spool.put, lane, payload, tag=tag)
        except OSError as e:
            self._log.error("spool_write_failed", lane=lane.value, error=str(e))
            raise TemporaryError(f"cannot spool to {self.spool.directory}: {e}") from e

    async def run(self) -> None:
        """Run both senders until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._sender(Lane.NOTICES))
            group.create_task(self._sender(Lane.SNAPSHOTS))

    async def wait_for(
        self, condition: Callable[[UplinkStats], bool], within: float = 30.0
    ) -> None:
        """Wait until `condition(stats)` holds (for health probes and tests)."""
        async with asyncio.timeout(within), self._stats_changed:
            await self._stats_changed.wait_for(lambda: condition(self.stats))

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        for client in self._clients.values():
            await client.aclose()

    async def _sender(self, lane: Lane) -> None:
        """Drain one lane whenever it is woken."""
        while True:
            await self._wake[lane].wait()
            self._wake[lane].clear()
            await self._drain(lane)
            if lane is Lane.NOTICES and not self.spool.pending(Lane.NOTICES):
                self._notices_empty.set()

    async def _drain(self, lane: Lane) -> None:
        """Send a lane's payloads oldest first, retrying temporary failures with backoff."""
        backoff = self._backoffs[lane]
        while pending := self.spool.pending(lane):
            if lane is Lane.SNAPSHOTS and not self._notices_empty.is_set():
                await self._notices_empty.wait()
                continue
            path = pending[0]
            payload = self.spool.read(path)
            if payload is None:
                continue  # dropped by the size cap meanwhile
            delta = lane is Lane.SNAPSHOTS and tag_of(path) == DELTA_TAG
            try:
                answer = await self._post(lane, payload, self._delta_path if delta else None)
            except RejectedError as e:
                self._log.error("payload_refused", lane=lane.value, file=path.name, error=str(e))
                self.spool.remove(path)
                self.stats.refused += 1
                if delta:
                    self._request_resync()
                await self._notify()
                continue
            except TemporaryError as e:
                self.stats.failures[lane] += 1
                await self._notify()
                delay = backoff.next_delay()
                if isinstance(e, ThrottledError) and e.retry_after is not None:
                    delay = max(delay, e.retry_after)
                self._log.warning(
                    "send_failed", lane=lane.value, error=str(e), retry_in=round(delay, 2)
                )
                await asyncio.sleep(delay)
                continue
            self.spool.remove(path)
            backoff.reset()
            self._log.info("sent", lane=lane.value, file=path.name)
            if lane is Lane.NOTICES:
                self.stats.notices_sent += 1
            elif delta:
                self.stats.deltas_sent += 1
            else:
                self.stats.snapshots_sent += 1
            # Only answers to deltas count: the one to a full snapshot may predate its own fold.
            if delta and asks_for_resync(answer):
                self._request_resync()
            await self._notify()

    def _request_resync(self) -> None:
        self._resync_wanted = True
        self.stats.resyncs_requested += 1

    async def _post(self, lane: Lane, payload: bytes, path: str | None = None) -> bytes:
        """POST one payload in a span that starts a trace of its own (one trace per upload);
        the gateway's answer. `path` overrides the lane's (deltas share the snapshot lane)."""
        started = time.perf_counter()
        outcome = "sent"
        with self._tracer.start_as_current_span(
            f"upload {lane.value}",
            context=Context(),
            kind=SpanKind.CLIENT,
            attributes={"slicewise.lane": lane.value, "slicewise.payload_bytes": len(payload)},
        ):
            headers = inject_http(dict(self._headers[lane]))
            try:
                return await self._clients[lane].post(
                    path or self._paths[lane], payload, dict(headers)
                )
            except (RejectedError, TemporaryError) as e:
                outcome = "failed"
                self.metrics.upload_failures.labels(lane.value, _failure_status(e)).inc()
                raise
            finally:
                self.metrics.upload_seconds.labels(lane.value, outcome).observe(
                    time.perf_counter() - started
                )

    async def _notify(self) -> None:
        """Wake whoever waits on the stats."""
        async with self._stats_changed:
            self._stats_changed.notify_all()


def _failure_status(error: RejectedError | TemporaryError) -> str:
    """The HTTP status a failed upload got, or `network` when no answer came."""
    match error:
        case RejectedError(status=status) | UnavailableError(status=status):
            return str(status)
        case ThrottledError():
            return "429"
        case _:
            return "network"
