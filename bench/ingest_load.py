"""Closed-loop load: N concurrent senders through the gateway, or straight into the broker."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import httpx
import numpy as np
from aiokafka import AIOKafkaProducer

from bench.ingest_http import KeepAliveConnection, prepared_post
from bench.ingest_stack import Agent
from bench.snapshots import SnapshotVariants
from gateway.ingest import envelope
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, message_key, schema_headers

_MAX_MESSAGE = 80 * 1024 * 1024
_ENDPOINTS = {"snapshot": "snapshots", "delta": "deltas"}


@dataclass(frozen=True)
class RunResult:
    """One measured run of one path."""

    accepted: int
    failed: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: float = 0.0
    """CPU time of the process(es) doing the work: the gateway's, or the bare producer's."""
    sender_cpu_seconds: float = 0.0
    """CPU time of the bench process sending (the HTTP client, or the bare producer itself)."""
    warmup_items: int = 0
    """Items sent in the warm-up before the measured run (not counted in any figure)."""

    @property
    def per_second(self) -> float:
        """Accepted items per second of wall time."""
        return self.accepted / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0


@dataclass(frozen=True)
class Sender:
    """One simulated agent: its cluster and its snapshot (to vary by id)."""

    agent: Agent
    variants: SnapshotVariants
    kind: str = "snapshot"
    """`snapshot` or `delta` (protocol v2): the endpoint, envelope field and payload kind."""


@dataclass(frozen=True)
class Window:
    """How long each path is timed: a warm-up whose items are not counted, then the measured
    run, both closed loops of every sender until their deadline."""

    seconds: float
    warmup_seconds: float


Send = Callable[[int], Awaitable[bool]]
"""Send sender `index`'s next upload (a fresh id); whether it was accepted as new."""


async def _until(deadline: float, senders: int, send: Send) -> list[float]:
    """Every sender sends one request after another until `deadline`, and at least one even
    when its first turn comes after it (a busy machine can hold the event loop that long); the
    latencies (ms) of the accepted ones, and -1 for each refused."""
    latencies: list[float] = []

    async def sender(index: int) -> None:
        while True:
            started = time.perf_counter()
            ok = await send(index)
            latencies.append((time.perf_counter() - started) * 1000 if ok else -1.0)
            if time.perf_counter() >= deadline:
                return

    await asyncio.gather(*(sender(i) for i in range(senders)))
    return latencies


async def timed_loop(
    window: Window, senders: int, send: Send, cpu_clock: Callable[[], float]
) -> RunResult:
    """The warm-up, then the measured run: accepted items, wall time until the last sender's
    last answer, latencies and CPU of the measured run only."""
    warmup = await _until(time.perf_counter() + window.warmup_seconds, senders, send)
    # The clocks are read before the run's start: reading the gateway's (a walk of /proc) can
    # take longer than a short run on a loaded machine.
    cpu_before, sender_before = cpu_clock(), time.process_time()
    started = time.perf_counter()
    outcomes = await _until(started + window.seconds, senders, send)
    cpu, sender_cpu = cpu_clock() - cpu_before, time.process_time() - sender_before
    elapsed = time.perf_counter() - started
    latencies = [ms for ms in outcomes if ms >= 0]
    return RunResult(
        len(latencies),
        len(outcomes) - len(latencies),
        elapsed,
        latencies,
        cpu,
        sender_cpu,
        warmup_items=len(warmup),
    )


async def run_gateway(
    url: str,
    senders: Sequence[Sender],
    window: Window,
    *,
    gateway_cpu: Callable[[], float],
    client: Literal["lean", "httpx"] = "lean",
) -> RunResult:
    """Each sender POSTs distinct gzip uploads of its cluster, one after another, on its own
    keep-alive connection: by default with `bench.ingest_http` (a request's bytes built from
    its upload's gzip variant, without recompressing it), or with httpx as the agent's uplink
    does."""
    paths = [f"/v1/clusters/{s.agent.cluster_id}/{_ENDPOINTS[s.kind]}" for s in senders]
    headers = [
        {
            "Authorization": f"Bearer {s.agent.token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        for s in senders
    ]
    async with _posting(url, client, len(senders)) as post:

        async def send(index: int) -> bool:
            body = senders[index].variants.gzip(uuid.uuid4())
            request = Request.prepared(url, paths[index], body, headers[index])
            status, answer = await post(index, request)
            return status == 202 and b'"duplicate":false' in answer

        return await timed_loop(window, len(senders), send, gateway_cpu)


@dataclass(frozen=True)
class Request:
    """One POST, and its bytes on the wire as the lean client sends them."""

    path: str
    body: bytes
    headers: dict[str, str]
    wire: bytes

    @classmethod
    def prepared(cls, url: str, path: str, body: bytes, headers: dict[str, str]) -> Request:
        """The request with its wire bytes."""
        return cls(path, body, headers, prepared_post(url, path, body, headers))


Post = Callable[[int, Request], Awaitable[tuple[int, bytes]]]
"""Send sender `index`'s request; its answer's status and body."""


@contextlib.asynccontextmanager
async def _posting(url: str, client: Literal["lean", "httpx"], senders: int) -> AsyncIterator[Post]:
    """A keep-alive connection per sender, of the lean client or of httpx."""
    if client == "httpx":
        clients = [httpx.AsyncClient(base_url=url, timeout=120.0) for _ in range(senders)]
        try:

            async def post_httpx(index: int, request: Request) -> tuple[int, bytes]:
                response = await clients[index].post(
                    request.path, content=request.body, headers=request.headers
                )
                return response.status_code, response.content

            yield post_httpx
        finally:
            for each in clients:
                await each.aclose()
        return
    connections = [KeepAliveConnection(url) for _ in range(senders)]
    try:

        async def post_lean(index: int, request: Request) -> tuple[int, bytes]:
            answer = await connections[index].exchange(request.wire)
            return answer.status, answer.body

        yield post_lean
    finally:
        for connection in connections:
            await connection.close()


async def run_bare(
    bootstrap: str,
    topic: str,
    senders: Sequence[Sender],
    window: Window,
) -> RunResult:
    """The same messages the gateway would produce, sent by one producer with the same settings
    (acks from every in-sync replica, no linger) and the same concurrency."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        max_request_size=_MAX_MESSAGE,
    )
    await producer.start()
    try:

        async def send(index: int) -> bool:
            sender = senders[index]
            snapshot_id = uuid.uuid4()
            value = envelope(
                sender.agent.tenant_id,
                datetime.now(UTC),
                sender.kind,
                sender.variants.json(snapshot_id),
            )
            kind = [(PAYLOAD_KIND_HEADER, DELTA_PAYLOAD)] if sender.kind == "delta" else []
            await producer.send_and_wait(
                topic,
                value=value,
                key=message_key(sender.agent.tenant_id, sender.agent.cluster_id),
                headers=[*schema_headers(snapshot_id), *kind],
            )
            return True

        return await timed_loop(window, len(senders), send, time.process_time)
    finally:
        await producer.stop()
