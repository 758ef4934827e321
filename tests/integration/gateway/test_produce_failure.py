"""When the broker does not acknowledge, nothing is accepted: 503, Retry-After, key released."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

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
