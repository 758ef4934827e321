"""Oversized, compressed-bomb, malformed and too frequent requests are refused with problems."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from auth.provisioning import ClusterCredentials
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    gzip_json,
    json_headers,
    serve,
    small_snapshot,
)

PROBLEM = "application/problem+json"


def _bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of zeros, built in pieces so the test itself never holds it inflated."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(inflated_bytes >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts)


async def _post(
    gateway: RunningGateway, credentials: ClusterCredentials, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{credentials.cluster.id}/snapshots", content=body, headers=headers
        )
    assert response.headers["content-type"] == PROBLEM
    return response.status_code, response.json(), dict(response.headers)


async def test_gzip_bomb_is_refused_with_413(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """256 MiB of zeros in ~1 MiB of gzip: 413 after inflating no more than the limit."""
    token = await agent_token(gateway, credentials)
    bomb = _bomb(256 << 20)
    assert len(bomb) < gateway.settings.max_body_bytes
    status, body, _ = await _post(gateway, credentials, bomb, json_headers(token))
    assert status == 413
    assert body["type"] == "urn:slicewise:problem:too-large"
    assert "inflates beyond" in str(body["detail"])


async def test_oversized_body_is_refused_with_413(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """A body over the sent-size limit is refused before it is read."""
    async with serve(make_settings(max_body_bytes=1024)) as gateway:
        token = await agent_token(gateway, credentials)
        status, body, _ = await _post(
            gateway, credentials, b"x" * 4096, json_headers(token, gzipped=False)
        )
    assert status == 413
    assert body["status"] == 413


async def test_malformed_json_is_a_422_naming_the_body(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Bytes that are not JSON: 422 whose invalid_params names `body`."""
    token = await agent_token(gateway, credentials)
    status, body, _ = await _post(
        gateway, credentials, gzip.compress(b'{"snapshot_id": '), json_headers(token)
    )
    assert status == 422
    assert [p["name"] for p in body["invalid_params"]] == ["body"]


async def test_invalid_field_is_a_422_naming_the_field(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A negative CPU capacity is named by its dotted path."""
    token = await agent_token(gateway, credentials)
    document = small_snapshot(credentials.cluster.id).model_dump(mode="json")
    document["nodes"][0]["capacity"]["cpu_millis"] = -1
    status, body, _ = await _post(
        gateway, credentials, gzip.compress(json.dumps(document).encode()), json_headers(token)
    )
    assert status == 422
    assert [p["name"] for p in body["invalid_params"]] == ["nodes.0.capacity.cpu_millis"]


async def test_strict_validation_refuses_coercible_strings(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A number sent as a string is refused rather than coerced."""
    token = await agent_token(gateway, credentials)
    document = small_snapshot(credentials.cluster.id).model_dump(mode="json")
    document["nodes"][0]["capacity"]["cpu_millis"] = "8000"
    status, body, _ = await _post(
        gateway, credentials, json.dumps(document).encode(), json_headers(token, gzipped=False)
    )
    assert status == 422
    assert [p["name"] for p in body["invalid_params"]] == ["nodes.0.capacity.cpu_millis"]


async def test_unknown_field_is_refused(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Unknown fields are not silently dropped."""
    token = await agent_token(gateway, credentials)
    document = small_snapshot(credentials.cluster.id).model_dump(mode="json")
    document["surprise"] = 1
    status, body, _ = await _post(
        gateway, credentials, json.dumps(document).encode(), json_headers(token, gzipped=False)
    )
    assert status == 422
    assert [p["name"] for p in body["invalid_params"]] == ["surprise"]


async def test_corrupt_gzip_is_a_400(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A truncated gzip stream is refused as bad gzip."""
    token = await agent_token(gateway, credentials)
    whole = gzip_json(small_snapshot(credentials.cluster.id))
    status, body, _ = await _post(
        gateway, credentials, whole[: len(whole) // 2], json_headers(token)
    )
    assert status == 400
    assert body["type"] == "urn:slicewise:problem:bad-gzip"


async def test_unsupported_encoding_and_media_type_are_415(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """br encoding and text/plain bodies are refused with 415."""
    token = await agent_token(gateway, credentials)
    body = gzip_json(small_snapshot(credentials.cluster.id))
    brotli = {**json_headers(token), "Content-Encoding": "br"}
    text = {**json_headers(token), "Content-Type": "text/plain"}
    statuses = [(await _post(gateway, credentials, body, h))[0] for h in (brotli, text)]
    assert statuses == [415, 415]


async def test_cluster_rate_limit_answers_429_with_retry_after(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """The fourth snapshot in a window of three: 429 with Retry-After within the window."""
    async with serve(make_settings(snapshot_rate_per_cluster=3, rate_window_seconds=60)) as gateway:
        token = await agent_token(gateway, credentials)
        async with gateway.client() as http:
            statuses = []
            for _ in range(4):
                response = await http.post(
                    f"/v1/clusters/{credentials.cluster.id}/snapshots",
                    content=gzip_json(small_snapshot(credentials.cluster.id)),
                    headers=json_headers(token),
                )
                statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.json()["type"] == "urn:slicewise:problem:rate-limited"
    assert "cluster" in response.json()["detail"]


async def test_tenant_rate_limit_spans_its_clusters(
    make_settings: SettingsFactory,
    credentials: ClusterCredentials,
    sibling_credentials: ClusterCredentials,
) -> None:
    """Two clusters of one tenant share the tenant's budget of two."""
    settings = make_settings(snapshot_rate_per_tenant=2, snapshot_rate_per_cluster=10)
    async with serve(settings) as gateway:
        statuses = []
        async with gateway.client() as http:
            for creds in (credentials, sibling_credentials, credentials):
                token = await agent_token(gateway, creds)
                response = await http.post(
                    f"/v1/clusters/{creds.cluster.id}/snapshots",
                    content=gzip_json(small_snapshot(creds.cluster.id)),
                    headers=json_headers(token),
                )
                statuses.append(response.status_code)
    assert statuses == [202, 202, 429]
    assert "tenant" in response.json()["detail"]


async def _statuses(
    gateway: RunningGateway, credentials: ClusterCredentials, bodies: list[bytes]
) -> list[int]:
    token = await agent_token(gateway, credentials)
    statuses = []
    async with gateway.client() as http:
        for body in bodies:
            response = await http.post(
                f"/v1/clusters/{credentials.cluster.id}/snapshots",
                content=body,
                headers=json_headers(token),
            )
            statuses.append(response.status_code)
    return statuses


async def test_refused_bodies_count_against_the_rate_limit(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """A malformed body uses up the window like a valid one: 422, 202, then 429."""
    valid = [gzip_json(small_snapshot(credentials.cluster.id)) for _ in range(2)]
    async with serve(make_settings(snapshot_rate_per_cluster=2)) as gateway:
        statuses = await _statuses(gateway, credentials, [gzip.compress(b"{not json"), *valid])
    assert statuses == [422, 202, 429]


async def test_malformed_body_beyond_the_rate_limit_is_429(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """Over the limit, a malformed body is answered 429, as the limit is checked first."""
    valid = gzip_json(small_snapshot(credentials.cluster.id))
    async with serve(make_settings(snapshot_rate_per_cluster=1)) as gateway:
        statuses = await _statuses(gateway, credentials, [valid, gzip.compress(b"{not json")])
    assert statuses == [202, 429]


async def test_exhausted_window_is_refused_without_counting_again(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """Once a window refused, the process refuses the rest of it itself: the counter stops."""
    bodies = [gzip_json(small_snapshot(credentials.cluster.id)) for _ in range(5)]
    settings = make_settings(snapshot_rate_per_cluster=1, rate_window_seconds=60)
    async with serve(settings) as gateway:
        statuses = await _statuses(gateway, credentials, bodies)
        counter = await gateway.wiring.redis.get(
            f"{settings.redis_key_prefix}rate:snapshot:cluster:{credentials.cluster.id}"
        )
    assert statuses == [202, 429, 429, 429, 429]
    assert counter == b"2"
