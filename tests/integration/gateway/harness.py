"""A real gateway (uvicorn in-process on a free port), its clients' tokens, and topic readers."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from fastapi import FastAPI

from auth.clock import Clock, utc_now
from auth.provisioning import ClusterCredentials
from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.wiring import Wiring
from protocol.delta import ClusterDelta, DeletedObject, ObjectKind
from protocol.resources import Resources
from protocol.snapshot import (
    ClusterInfo,
    ClusterSnapshot,
    Container,
    Node,
    Pod,
    PodSpecSummary,
)
from protocol.spot import NoticeKind, SpotNotice

START_TIMEOUT = 30.0


@dataclass
class RunningGateway:
    """A gateway serving on 127.0.0.1."""

    app: FastAPI
    url: str
    settings: GatewaySettings

    @property
    def wiring(self) -> Wiring:
        """The app's collaborators (for reading its Redis keys and metrics)."""
        wiring: Wiring = self.app.state.wiring
        return wiring

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        """An HTTP client for this gateway (close it: use `async with`)."""
        return httpx.AsyncClient(base_url=self.url, timeout=30.0, **kwargs)  # type: ignore[arg-type]


class NotifyingServer(uvicorn.Server):
    """A uvicorn server that signals an event once it listens (instead of being polled)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then signal."""
        await super().startup(sockets)
        if self.started:
            self.listening.set()


async def wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Wait until `server` listens; fail if its task ends first (start-up failed)."""
    listening = server.listening if isinstance(server, NotifyingServer) else None
    if listening is None:
        raise TypeError("use NotifyingServer")
    waiter = asyncio.create_task(listening.wait())
    done, _ = await asyncio.wait(
        {waiter, task}, timeout=START_TIMEOUT, return_when="FIRST_COMPLETED"
    )
    waiter.cancel()
    if waiter not in done:
        raise RuntimeError("server failed to start")


@contextlib.asynccontextmanager
async def serve(
    settings: GatewaySettings, *, clock: Clock = utc_now
) -> AsyncIterator[RunningGateway]:
    """Run the gateway app under uvicorn on a free port until the block exits."""
    app = create_app(settings, clock=clock)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
    )
    server = NotifyingServer(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_started(server, task)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningGateway(app, f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        await task


async def fetch_token(
    gateway: RunningGateway, client_id: str, secret: str, scope: str | None = None
) -> str:
    """An access token from the token endpoint (client_secret_basic)."""
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    async with gateway.client() as http:
        response = await http.post("/oauth/token", data=form, auth=(client_id, secret))
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def agent_token(gateway: RunningGateway, credentials: ClusterCredentials) -> str:
    """The agent's access token of a provisioned cluster."""
    return await fetch_token(gateway, credentials.agent.client.client_id, credentials.agent.secret)


def small_snapshot(
    cluster_id: uuid.UUID, *, snapshot_id: uuid.UUID | None = None
) -> ClusterSnapshot:
    """A valid two-object snapshot."""
    return ClusterSnapshot(
        snapshot_id=snapshot_id or uuid.uuid4(),
        cluster=ClusterInfo(cluster_id=cluster_id, name="test-cluster"),
        taken_at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC),
        agent_version="test",
        nodes=[
            Node(
                name="node-1",
                uid="n-1",
                capacity=Resources(
                    cpu_millis=8000, memory_bytes=32 * 2**30, extended={"nvidia.com/gpu": 1}
                ),
                allocatable=Resources(
                    cpu_millis=7500, memory_bytes=30 * 2**30, extended={"nvidia.com/gpu": 1}
                ),
            )
        ],
        pods=[
            Pod(
                namespace="default",
                name="web-1",
                uid="p-1",
                node_name="node-1",
                spec=PodSpecSummary(
                    containers=[Container(name="web", requests=Resources(cpu_millis=250))]
                ),
            )
        ],
    )


def spot_notice(cluster_id: uuid.UUID, *, notice_id: uuid.UUID | None = None) -> SpotNotice:
    """A termination notice for node-1."""
    return SpotNotice(
        notice_id=notice_id or uuid.uuid4(),
        cluster_id=cluster_id,
        provider="aws",  # type: ignore[arg-type]
        kind=NoticeKind.TERMINATION,
        node_name="node-1",
        detected_at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC),
        deadline=datetime(2026, 11, 23, 3, 2, tzinfo=UTC),
        action="terminate",
    )


def gzip_json(document: ClusterSnapshot | ClusterDelta | SpotNotice) -> bytes:
    """The model's JSON, gzipped as the agent sends it."""
    return gzip.compress(document.model_dump_json().encode())


def json_headers(token: str, *, gzipped: bool = True) -> dict[str, str]:
    """Headers of an ingest request."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return headers


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    *,
    within: float = 20.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message of `topic` read from the start until `until(messages)` holds (no group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 2**20,
        max_partition_fetch_bytes=64 * 2**20,
    )
    await consumer.start()
    try:
        partitions = await asyncio.wait_for(_partitions(consumer, topic), within)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        messages: list[ConsumerRecord[bytes, bytes]] = []

        async def collect() -> None:
            while not until(messages):
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    messages.extend(records)

        await asyncio.wait_for(collect(), within)
        return messages
    finally:
        await consumer.stop()


async def drain_topic(
    bootstrap: str, topic: str, *, settle_ms: int = 500
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message currently in `topic`: read until the end offsets are reached."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 2**20,
        max_partition_fetch_bytes=64 * 2**20,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(partitions)
        messages: list[ConsumerRecord[bytes, bytes]] = []

        async def collect() -> None:
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(timeout_ms=settle_ms)
                for records in batches.values():
                    messages.extend(records)

        await asyncio.wait_for(collect(), 20.0)
        return messages
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return set(partitions)
        await consumer.topics()  # refreshes metadata
        await asyncio.sleep(0.05)


def small_delta(
    cluster_id: uuid.UUID, *, delta_id: uuid.UUID | None = None, base_sequence: int = 41
) -> ClusterDelta:
    """A valid delta: the snapshot's pod modified, a pod deleted."""
    snapshot = small_snapshot(cluster_id)
    return ClusterDelta(
        delta_id=delta_id or uuid.uuid4(),
        cluster=snapshot.cluster,
        taken_at=snapshot.taken_at,
        agent_version="test",
        base_sequence=base_sequence,
        sequence=base_sequence + 1,
        pods=[snapshot.pods[0].model_copy(update={"ready": True, "resource_version": "9"})],
        deleted=[DeletedObject(kind=ObjectKind.POD, namespace="default", name="web-0", uid="p-0")],
    )
