"""Snapshots and spot notices go from HTTP to their topics exactly once."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from auth.provisioning import ClusterCredentials
from protocol import SCHEMA_VERSION
from protocol.topics import SnapshotMessage, SpotNoticeMessage, message_key
from store.repositories.tenants import TenantView
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    drain_topic,
    gzip_json,
    json_headers,
    read_topic,
    serve,
    small_snapshot,
    spot_notice,
)


async def test_snapshot_round_trip_reaches_topic_unchanged(
    gateway: RunningGateway, credentials: ClusterCredentials, tenant: TenantView
) -> None:
    """A gzip snapshot is read back from the topic equal to what was sent, keyed and stamped."""
    cluster_id = credentials.cluster.id
    snapshot = small_snapshot(cluster_id)
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/snapshots",
            content=gzip_json(snapshot),
            headers=json_headers(token),
        )
    assert response.status_code == 202
    assert response.json() == {
        "snapshot_id": str(snapshot.snapshot_id),
        "duplicate": False,
        "resync": False,
    }
    messages = await read_topic(
        gateway.settings.kafka_bootstrap,
        gateway.settings.snapshots_topic,
        lambda found: any(m.key == message_key(tenant.id, cluster_id) for m in found),
    )
    [record] = [m for m in messages if m.key == message_key(tenant.id, cluster_id)]
    message = SnapshotMessage.model_validate_json(record.value)
    assert message.snapshot == snapshot
    assert message.tenant_id == tenant.id
    # Trace context headers come along whenever the request ran inside a trace.
    stamped = {k: v for k, v in record.headers if k not in {"traceparent", "tracestate"}}
    assert stamped == {
        "schema-version": SCHEMA_VERSION.encode(),
        "message-id": str(snapshot.snapshot_id).encode(),
    }


async def test_resent_snapshot_is_accepted_once(
    gateway: RunningGateway, credentials: ClusterCredentials, tenant: TenantView
) -> None:
    """The same snapshot id twice: both 202, the second flagged duplicate, one message produced."""
    cluster_id = credentials.cluster.id
    snapshot = small_snapshot(cluster_id)
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        first, second = [
            await http.post(
                f"/v1/clusters/{cluster_id}/snapshots",
                content=gzip_json(snapshot),
                headers=json_headers(token),
            )
            for _ in range(2)
        ]
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    messages = await drain_topic(gateway.settings.kafka_bootstrap, gateway.settings.snapshots_topic)
    mine = [m for m in messages if m.key == message_key(tenant.id, cluster_id)]
    assert len(mine) == 1


async def test_another_tenants_snapshot_id_is_accepted_as_new(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    foreign_credentials: ClusterCredentials,
) -> None:
    """An id already sent by another tenant's agent is produced for this tenant, not deduped."""
    snapshot_id = uuid.uuid4()
    answers = []
    for creds in (foreign_credentials, credentials):
        cluster_id = creds.cluster.id
        token = await agent_token(gateway, creds)
        async with gateway.client() as http:
            response = await http.post(
                f"/v1/clusters/{cluster_id}/snapshots",
                content=gzip_json(small_snapshot(cluster_id, snapshot_id=snapshot_id)),
                headers=json_headers(token),
            )
        answers.append((response.status_code, response.json()["duplicate"]))
    assert answers == [(202, False), (202, False)]


async def test_uncompressed_snapshot_is_accepted(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Content-Encoding is optional: plain JSON is accepted too."""
    cluster_id = credentials.cluster.id
    snapshot = small_snapshot(cluster_id)
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/snapshots",
            content=snapshot.model_dump_json(),
            headers=json_headers(token, gzipped=False),
        )
    assert response.status_code == 202


async def test_spot_notice_round_trip_and_dedupe(
    gateway: RunningGateway, credentials: ClusterCredentials, tenant: TenantView
) -> None:
    """A spot notice reaches its topic once; the resend is answered as a duplicate."""
    cluster_id = credentials.cluster.id
    notice = spot_notice(cluster_id)
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        answers = [
            await http.post(
                f"/v1/clusters/{cluster_id}/spot-notices",
                content=notice.model_dump_json(),
                headers=json_headers(token, gzipped=False),
            )
            for _ in range(2)
        ]
    assert [a.status_code for a in answers] == [202, 202]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    assert answers[0].json()["notice_id"] == str(notice.notice_id)
    messages = await drain_topic(
        gateway.settings.kafka_bootstrap, gateway.settings.spot_notices_topic
    )
    mine = [m for m in messages if m.key == message_key(tenant.id, cluster_id)]
    assert len(mine) == 1
    assert SpotNoticeMessage.model_validate_json(mine[0].value).notice == notice


async def test_accepted_ids_are_confirmed_before_the_gateway_stops(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """Every id answered 202 is marked done in Redis by the time the gateway has shut down."""
    cluster_id = credentials.cluster.id
    snapshots = [small_snapshot(cluster_id) for _ in range(6)]
    settings = make_settings()
    async with serve(settings) as gateway:
        token = await agent_token(gateway, credentials)
        async with gateway.client() as http:
            answers = await asyncio.gather(
                *(
                    http.post(
                        f"/v1/clusters/{cluster_id}/snapshots",
                        content=gzip_json(snapshot),
                        headers=json_headers(token),
                    )
                    for snapshot in snapshots
                )
            )
        dedupe = gateway.wiring.ingest._dedupe
        keys = [
            dedupe.key("snapshot", credentials.cluster.tenant_id, cluster_id, s.snapshot_id)
            for s in snapshots
        ]
    redis = Redis.from_url(settings.redis_url)
    try:
        marked = [await redis.get(key) for key in keys]
    finally:
        await redis.aclose()
    assert [a.status_code for a in answers] == [202] * len(snapshots)
    assert marked == [b"done"] * len(snapshots)
