"""POST /oauth/token: the client-credentials grant and its RFC 6749 §5.2 errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from auth.provisioning import ClusterCredentials
from store.database import Database
from store.repositories.api_clients import ApiClientRepository
from tests.integration.gateway.harness import RunningGateway, gzip_json, small_snapshot

GRANT = {"grant_type": "client_credentials"}


async def _token_request(
    gateway: RunningGateway, *, data: dict[str, str] | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any], dict[str, str]]:
    async with gateway.client() as http:
        response = await http.post("/oauth/token", data=data, **kwargs)
    return response.status_code, response.json(), dict(response.headers)


async def test_basic_authentication_issues_a_bearer_token(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """client_secret_basic: 200 with token_type Bearer, expiry, granted scope and no-store."""
    agent = credentials.agent
    status, body, headers = await _token_request(
        gateway, data=GRANT, auth=(agent.client.client_id, agent.secret)
    )
    assert status == 200
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 600, "ingest")
    assert headers["cache-control"] == "no-store"
    assert headers["pragma"] == "no-cache"


async def test_post_authentication_issues_a_token(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """client_secret_post works as well."""
    agent = credentials.agent
    status, body, _ = await _token_request(
        gateway,
        data={**GRANT, "client_id": agent.client.client_id, "client_secret": agent.secret},
    )
    assert status == 200
    assert body["scope"] == "ingest"


async def test_issued_token_verifies_against_published_jwks(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A third party can verify the token with /.well-known/jwks.json alone."""
    agent = credentials.agent
    _, body, _ = await _token_request(
        gateway, data=GRANT, auth=(agent.client.client_id, agent.secret)
    )
    async with gateway.client() as http:
        jwks = (await http.get("/.well-known/jwks.json")).json()
    token = jwt.decode(body["access_token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert token.claims["cluster_id"] == str(credentials.cluster.id)


async def test_wrong_secret_is_invalid_client_with_basic_challenge(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """401 invalid_client, WWW-Authenticate: Basic, as RFC 6749 §5.2 requires for basic auth."""
    status, body, headers = await _token_request(
        gateway, data=GRANT, auth=(credentials.agent.client.client_id, "wrong")
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["www-authenticate"].startswith("Basic")


async def test_unknown_client_is_invalid_client(gateway: RunningGateway) -> None:
    """A client id nobody registered is indistinguishable from a wrong secret."""
    status, body, _ = await _token_request(
        gateway, data={**GRANT, "client_id": "agent-nobody", "client_secret": "x"}
    )
    assert (status, body["error"]) == (401, "invalid_client")


async def test_revoked_client_is_invalid_client(
    gateway: RunningGateway, credentials: ClusterCredentials, database: Database
) -> None:
    """After revocation the right secret no longer buys a token."""
    agent = credentials.agent
    tenant_id = credentials.cluster.tenant_id
    async with database.tenant(tenant_id) as session:
        await ApiClientRepository(session, tenant_id).revoke(
            agent.client.client_id, datetime.now(UTC)
        )
    status, body, _ = await _token_request(
        gateway, data=GRANT, auth=(agent.client.client_id, agent.secret)
    )
    assert (status, body["error"]) == (401, "invalid_client")


async def test_no_client_authentication_is_invalid_client(gateway: RunningGateway) -> None:
    """A grant without any credentials is refused as invalid_client."""
    status, body, _ = await _token_request(gateway, data=GRANT)
    assert (status, body["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({**GRANT, "scope": "admin"}, "invalid_scope"),
        ({**GRANT, "scope": "ingest instructions"}, "invalid_scope"),
    ],
    ids=["unsupported-grant", "missing-grant", "scope-not-granted", "scope-partly-granted"],
)
async def test_bad_grant_requests_are_400(
    gateway: RunningGateway, credentials: ClusterCredentials, form: dict[str, str], error: str
) -> None:
    """Grant type and scope errors are 400 with the RFC 6749 error code."""
    agent = credentials.agent
    status, body, _ = await _token_request(
        gateway, data=form, auth=(agent.client.client_id, agent.secret)
    )
    assert (status, body["error"]) == (400, error)


async def test_two_authentication_methods_are_invalid_request(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Basic and post credentials together are refused (RFC 6749 §2.3)."""
    agent = credentials.agent
    status, body, _ = await _token_request(
        gateway,
        data={**GRANT, "client_id": agent.client.client_id, "client_secret": agent.secret},
        auth=(agent.client.client_id, agent.secret),
    )
    assert (status, body["error"]) == (400, "invalid_request")


async def test_repeated_parameter_is_invalid_request(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A parameter sent twice is refused (RFC 6749 §3.2)."""
    agent = credentials.agent
    async with gateway.client() as http:
        response = await http.post(
            "/oauth/token",
            content="grant_type=client_credentials&grant_type=client_credentials",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=(agent.client.client_id, agent.secret),
        )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_json_body_is_invalid_request(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """The token endpoint takes a form, not JSON."""
    agent = credentials.agent
    status, body, _ = await _token_request(
        gateway, json=GRANT, auth=(agent.client.client_id, agent.secret)
    )
    assert (status, body["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_oauth2_client_fetches_a_token_and_ingests(
    gateway: RunningGateway, credentials: ClusterCredentials, method: str
) -> None:
    """The agent-side client (authlib AsyncOAuth2Client) gets a token and pushes a snapshot."""
    cluster_id = credentials.cluster.id
    snapshot = small_snapshot(cluster_id)
    async with AsyncOAuth2Client(
        client_id=credentials.agent.client.client_id,
        client_secret=credentials.agent.secret,
        token_endpoint=f"{gateway.url}/oauth/token",
        token_endpoint_auth_method=method,
        grant_type="client_credentials",
    ) as client:
        token = await client.fetch_token()
        response = await client.post(
            f"{gateway.url}/v1/clusters/{cluster_id}/snapshots",
            content=gzip_json(snapshot),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
    assert token["scope"] == "ingest"
    assert response.status_code == 202
    assert response.json()["snapshot_id"] == str(snapshot.snapshot_id)


async def test_metadata_names_the_token_endpoint(gateway: RunningGateway) -> None:
    """RFC 8414 metadata points at this issuer's token endpoint and keys."""
    async with gateway.client() as http:
        document = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert document["token_endpoint"] == "https://gateway.slicewise.test/oauth/token"
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
