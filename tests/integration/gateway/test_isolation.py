"""A token works only for its own tenant's own cluster."""

from __future__ import annotations

import uuid

from auth.provisioning import ClusterCredentials
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    fetch_token,
    gzip_json,
    json_headers,
    small_snapshot,
    spot_notice,
)


async def test_token_for_cluster_a_is_refused_on_cluster_b(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    sibling_credentials: ClusterCredentials,
) -> None:
    """Same tenant, other cluster's path: 403 problem naming the wrong cluster."""
    other = sibling_credentials.cluster.id
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{other}/snapshots",
            content=gzip_json(small_snapshot(other)),
            headers=json_headers(token),
        )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:slicewise:problem:wrong-cluster"


async def test_token_of_one_tenant_is_refused_on_another_tenants_cluster(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    foreign_credentials: ClusterCredentials,
) -> None:
    """Another tenant's cluster id in the path: 403, nothing produced."""
    foreign = foreign_credentials.cluster.id
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{foreign}/spot-notices",
            content=spot_notice(foreign).model_dump_json(),
            headers=json_headers(token, gzipped=False),
        )
    assert response.status_code == 403


async def test_body_naming_another_cluster_is_refused_with_the_field(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Path cluster is the token's, body's cluster.cluster_id differs: 422 naming the field."""
    cluster_id = credentials.cluster.id
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/snapshots",
            content=gzip_json(small_snapshot(uuid.uuid4())),
            headers=json_headers(token),
        )
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == ["cluster.cluster_id"]


async def test_executor_token_cannot_ingest(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """The executor's `instructions` token lacks `ingest`: 403 insufficient scope."""
    cluster_id = credentials.cluster.id
    token = await fetch_token(
        gateway, credentials.executor.client.client_id, credentials.executor.secret
    )
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/snapshots",
            content=gzip_json(small_snapshot(cluster_id)),
            headers=json_headers(token),
        )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert response.json()["type"] == "urn:slicewise:problem:insufficient-scope"
