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


async def _closed_loop(
    count: int,
    senders: int,
    send: Callable[[int, int], Awaitable[bool]],
    cpu_clock: Callable[[], float],
) -> RunResult:
    latencies: list[float] = []
    outcomes: list[bool] = []

    async def sender(index: int) -> None:
        for request in range(count):
            started = time.perf_counter()
            ok = await send(index, request)
            latencies.append((time.perf_counter() - started) * 1000)
            outcomes.append(ok)

    started = time.perf_counter()
    cpu_before, sender_before = cpu_clock(), time.process_time()
    await asyncio.gather(*(sender(i) for i in range(senders)))
    cpu, sender_cpu = cpu_clock() - cpu_before, time.process_time() - sender_before
    elapsed = time.perf_counter() - started
    accepted = sum(outcomes)
    return RunResult(accepted, len(outcomes) - accepted, elapsed, latencies, cpu, sender_cpu)


async def run_gateway(
    url: str,
    senders: Sequence[Sender],
    requests_per_sender: int,
    *,
    gateway_cpu: Callable[[], float],
    client: Literal["lean", "httpx"] = "lean",
    warmup: int = 1,
) -> RunResult:
    """Each sender POSTs distinct gzip snapshots of its cluster, one after another, on its own
    keep-alive connection: by default with `bench.ingest_http` (requests prepared before the
    run), or with httpx as the agent's uplink does."""
    requests = [
        [
            Request.prepared(
                url,
                f"/v1/clusters/{s.agent.cluster_id}/{_ENDPOINTS[s.kind]}",
                s.variants.gzip(uuid.uuid4()),
                {
                    "Authorization": f"Bearer {s.agent.token}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                },
            )
            for _ in range(requests_per_sender + warmup)
        ]
        for s in senders
    ]
    async with _posting(url, client, len(senders)) as post:

        async def send(index: int, request: int) -> bool:
            status, body = await post(index, requests[index][request])
            return status == 202 and b'"duplicate":false' in body

        return await _warmed_loop(requests_per_sender, len(senders), send, gateway_cpu, warmup)


@dataclass(frozen=True)
class Request:
    """One POST, and its bytes on the wire as the lean client sends them."""

    path: str
    body: bytes
    headers: dict[str, str]
    wire: bytes

    @classmethod
    def prepared(cls, url: str, path: str, body: bytes, headers: dict[str, str]) -> Request:
        """The request with its wire bytes built now, before any timed run."""
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


async def _warmed_loop(
    count: int,
    senders: int,
    send: Callable[[int, int], Awaitable[bool]],
    cpu_clock: Callable[[], float],
    warmup: int,
) -> RunResult:
    """`_closed_loop` after each sender sent `warmup` requests numbered from `count` on."""
    for index in range(senders):
        for request in range(warmup):
            await send(index, count + request)
    return await _closed_loop(count, senders, send, cpu_clock)


async def run_bare(
    bootstrap: str,
    topic: str,
    senders: Sequence[Sender],
    requests_per_sender: int,
    *,
    warmup: int = 1,
) -> RunResult:
    """The same messages the gateway would produce, sent by one producer with the same settings."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        max_request_size=_MAX_MESSAGE,
    )
    await producer.start()
    try:

        async def send(index: int, _request: int) -> bool:
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

        return await _warmed_loop(
            requests_per_sender, len(senders), send, time.process_time, warmup
        )
    finally:
        await producer.stop()
