"""Tokens minted with the running gateway's own signing keys, and the request that probes them."""

from __future__ import annotations

import httpx

from auth.clock import Clock, utc_now
from auth.provisioning import ClusterCredentials
from auth.scopes import AGENT_SCOPES
from auth.tokens import TokenIssuer, TokenSettings
from tests.integration.gateway.fixtures import AUDIENCE, ISSUER
from tests.integration.gateway.harness import (
    RunningGateway,
    gzip_json,
    json_headers,
    small_snapshot,
)


def gateway_issuer(
    gateway: RunningGateway,
    *,
    clock: Clock = utc_now,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> TokenIssuer:
    """An issuer signing with the gateway's key ring (issuer, audience and clock overridable)."""
    settings = TokenSettings(issuer=issuer, audience=audience)
    return TokenIssuer(gateway.wiring.keys, settings, clock=clock)


def mint_agent_token(issuer: TokenIssuer, credentials: ClusterCredentials) -> str:
    """The token the agent of `credentials` would get from the token endpoint."""
    return issuer.issue(
        subject=credentials.agent.client.client_id,
        client_id=credentials.agent.client.client_id,
        tenant_id=credentials.cluster.tenant_id,
        cluster_id=credentials.cluster.id,
        scopes=AGENT_SCOPES,
    ).access_token


async def post_snapshot(
    gateway: RunningGateway, credentials: ClusterCredentials, token: str
) -> httpx.Response:
    """Ingest a small snapshot of the credentials' cluster with `token` as the bearer."""
    cluster_id = credentials.cluster.id
    async with gateway.client() as http:
        return await http.post(
            f"/v1/clusters/{cluster_id}/snapshots",
            content=gzip_json(small_snapshot(cluster_id)),
            headers=json_headers(token),
        )
