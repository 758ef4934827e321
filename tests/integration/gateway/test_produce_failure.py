"""When the broker does not acknowledge (gone or hung), the agent gets a prompt, truthful 503."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator

import httpx
import pytest

from auth.provisioning import ClusterCredentials
from devstack.kafka import EmbeddedKafka
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import (
    agent_token,
    gzip_json,
    json_headers,
    serve,
    small_snapshot,
)


@pytest.fixture
def private_broker() -> Iterator[EmbeddedKafka]:
    """A broker of this test alone, so that it can be stopped."""
    broker = EmbeddedKafka()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_unacknowledged_snapshot_is_503_and_can_be_retried(
    make_settings: SettingsFactory,
    credentials: ClusterCredentials,
    private_broker: EmbeddedKafka,
) -> None:
    """Broker gone: 503 with Retry-After, the dedupe claim is released, readiness fails."""
    settings = make_settings(
        kafka_bootstrap=private_broker.bootstrap, kafka_request_timeout_ms=1500
    )
    cluster_id = credentials.cluster.id
    async with serve(settings) as gateway:
        token = await agent_token(gateway, credentials)
        path = f"/v1/clusters/{cluster_id}/snapshots"
        async with gateway.client() as http:
            before = await http.post(
                path, content=gzip_json(small_snapshot(cluster_id)), headers=json_headers(token)
            )
            await asyncio.to_thread(private_broker.stop)
            snapshot = small_snapshot(cluster_id)
            failed = await http.post(path, content=gzip_json(snapshot), headers=json_headers(token))
            ready = await http.get("/readyz")
        key = gateway.wiring.ingest._dedupe.key(
            "snapshot", credentials.cluster.tenant_id, cluster_id, snapshot.snapshot_id
        )
        claimed = await gateway.wiring.redis.exists(key)
    assert before.status_code == 202
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == str(settings.retry_after_seconds)
    assert failed.headers["content-type"] == "application/problem+json"
    assert claimed == 0
    assert ready.status_code == 503
    assert ready.json()["checks"]["kafka"] == "unreachable"


@contextlib.contextmanager
def _hung(broker: EmbeddedKafka) -> Iterator[None]:
    """The broker's process stopped (not killed): connections stay open, nothing is answered."""
    # Only the test that started this broker pauses it, through its own process handle.
    process = broker._process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


async def test_hung_broker_answers_503_within_the_produce_timeout(
    make_settings: SettingsFactory,
    credentials: ClusterCredentials,
    private_broker: EmbeddedKafka,
) -> None:
    """A hung broker gets the agent a 503 saying the write was not acknowledged, not a hang.

    The producer's own timeout (30 s) is far above the client's (10 s): only the gateway's
    produce timeout can answer in time.
    """
    settings = make_settings(
        kafka_bootstrap=private_broker.bootstrap,
        kafka_request_timeout_ms=30_000,
        produce_timeout_seconds=1.0,
    )
    cluster_id = credentials.cluster.id
    path = f"/v1/clusters/{cluster_id}/snapshots"
    async with serve(settings) as gateway:
        token = await agent_token(gateway, credentials)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10.0) as http:
            before = await http.post(
                path, content=gzip_json(small_snapshot(cluster_id)), headers=json_headers(token)
            )
            with _hung(private_broker):
                hung = await http.post(
                    path, content=gzip_json(small_snapshot(cluster_id)), headers=json_headers(token)
                )
    assert before.status_code == 202
    assert hung.status_code == 503
    assert hung.json()["detail"] == "not acknowledged by the event log; retry"
    assert hung.headers["retry-after"] == str(settings.retry_after_seconds)
