"""Closed-loop load: N concurrent senders through the gateway, or straight into the broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import numpy as np
from aiokafka import AIOKafkaProducer

from bench.ingest_stack import Agent
from bench.snapshots import SnapshotVariants
from gateway.ingest import envelope
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, message_key, schema_headers

_MAX_MESSAGE = 80 * 1024 * 1024


@dataclass(frozen=True)
class RunResult:
    """One measured run of one path."""

    accepted: int
    failed: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: float = 0.0
    """CPU time of the process(es) doing the work: the gateway's, or the bare producer's."""

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
    cpu_before = cpu_clock()
    await asyncio.gather(*(sender(i) for i in range(senders)))
    cpu = cpu_clock() - cpu_before
    elapsed = time.perf_counter() - started
    accepted = sum(outcomes)
    return RunResult(accepted, len(outcomes) - accepted, elapsed, latencies, cpu)


async def run_gateway(
    url: str,
    senders: Sequence[Sender],
    requests_per_sender: int,
    *,
    gateway_cpu: Callable[[], float],
    warmup: int = 1,
) -> RunResult:
    """Each sender POSTs distinct gzip snapshots of its cluster, one after another."""
    bodies = [
        [s.variants.gzip(uuid.uuid4()) for _ in range(requests_per_sender + warmup)]
        for s in senders
    ]
    clients = [httpx.AsyncClient(base_url=url, timeout=120.0) for _ in senders]
    try:

        async def send(index: int, request: int) -> bool:
            sender = senders[index]
            endpoint = "deltas" if sender.kind == "delta" else "snapshots"
            response = await clients[index].post(
                f"/v1/clusters/{sender.agent.cluster_id}/{endpoint}",
                content=bodies[index][request],
                headers={
                    "Authorization": f"Bearer {sender.agent.token}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                },
            )
            return response.status_code == 202 and b'"duplicate":false' in response.content

        for index in range(len(senders)):
            for request in range(warmup):
                await send(index, requests_per_sender + request)
        return await _closed_loop(requests_per_sender, len(senders), send, gateway_cpu)
    finally:
        for client in clients:
            await client.aclose()


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

        for index in range(len(senders)):
            for request in range(warmup):
                await send(index, request)
        return await _closed_loop(requests_per_sender, len(senders), send, time.process_time)
    finally:
        await producer.stop()
