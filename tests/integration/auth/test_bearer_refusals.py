"""Every way a bearer token can be wrong is a 401 problem, and none reaches the topic."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from auth.clock import utc_now
from auth.provisioning import ClusterCredentials
from tests.integration.auth.bearer_probe import gateway_issuer, mint_agent_token, post_snapshot
from tests.integration.gateway.fixtures import AUDIENCE, ISSUER
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    gzip_json,
    small_snapshot,
)


def _segments(token: str) -> list[dict[str, object]]:
    return [
        json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for part in token.split(".")[:2]
    ]


def _encode(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


async def _ingest_status(
    gateway: RunningGateway, credentials: ClusterCredentials, token: str
) -> tuple[int, dict[str, object], str]:
    response = await post_snapshot(gateway, credentials, token)
    return response.status_code, response.json(), response.headers.get("www-authenticate", "")


async def test_valid_token_is_accepted(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """The control case: a token minted with the gateway's own settings is accepted."""
    status, _, _ = await _ingest_status(
        gateway, credentials, mint_agent_token(gateway_issuer(gateway), credentials)
    )
    assert status == 202


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"clock": lambda: utc_now() - timedelta(hours=1)}, "expired"),
        ({"audience": "someone-else"}, "wrong-audience"),
        ({"issuer": "https://impostor.example"}, "wrong-issuer"),
    ],
    ids=["expired", "wrong-audience", "wrong-issuer"],
)
async def test_misissued_token_is_401(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    changes: dict[str, Any],
    reason: str,
) -> None:
    """Expired, wrong audience and wrong issuer tokens are refused with the reason in detail."""
    token = mint_agent_token(gateway_issuer(gateway, **changes), credentials)
    status, body, challenge = await _ingest_status(gateway, credentials, token)
    assert (status, body["detail"]) == (401, reason)
    assert 'error="invalid_token"' in challenge


async def test_alg_none_token_is_401(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """An unsigned token (`alg: none`) with otherwise perfect claims is refused."""
    header, claims = _segments(mint_agent_token(gateway_issuer(gateway), credentials))
    unsigned = f"{_encode({**header, 'alg': 'none'})}.{_encode(claims)}."
    status, body, _ = await _ingest_status(gateway, credentials, unsigned)
    assert (status, body["detail"]) == (401, "bad-algorithm")


async def test_unknown_kid_is_401(gateway: RunningGateway, credentials: ClusterCredentials) -> None:
    """A well-formed token signed by a key the gateway never published is refused."""
    header, claims = _segments(mint_agent_token(gateway_issuer(gateway), credentials))
    stranger = ECKey.generate_key("P-256", parameters={"kid": "stranger"}, private=True)
    token = jwt.encode({**header, "kid": "stranger"}, claims, stranger, algorithms=["ES256"])
    status, body, _ = await _ingest_status(gateway, credentials, token)
    assert (status, body["detail"]) == (401, "unknown-key")


async def test_key_substitution_with_known_kid_is_401(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Signed by another key but naming the gateway's kid: the signature check fails."""
    header, claims = _segments(mint_agent_token(gateway_issuer(gateway), credentials))
    stranger = ECKey.generate_key("P-256", private=True)
    token = jwt.encode(header, claims, stranger, algorithms=["ES256"])
    status, body, _ = await _ingest_status(gateway, credentials, token)
    assert (status, body["detail"]) == (401, "bad-signature")


async def test_tampered_claims_are_401(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    sibling_credentials: ClusterCredentials,
) -> None:
    """Rewriting cluster_id in a genuine token breaks its signature."""
    token = mint_agent_token(gateway_issuer(gateway), credentials)
    head, _, signature = token.split(".")
    _, claims = _segments(token)
    forged = {**claims, "cluster_id": str(sibling_credentials.cluster.id)}
    status, body, _ = await _ingest_status(
        gateway, sibling_credentials, f"{head}.{_encode(forged)}.{signature}"
    )
    assert (status, body["detail"]) == (401, "bad-signature")


async def test_plain_jwt_type_is_401(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A correctly signed JWT whose header says `typ: JWT` is not an access token (RFC 9068)."""
    header, claims = _segments(mint_agent_token(gateway_issuer(gateway), credentials))
    signer = gateway.wiring.keys.signer
    token = jwt.encode({**header, "typ": "JWT"}, claims, signer.private, algorithms=["ES256"])
    status, body, _ = await _ingest_status(gateway, credentials, token)
    assert (status, body["detail"]) == (401, "bad-type")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "e30.e30.", "x" * 9000])
async def test_garbage_token_is_401(
    gateway: RunningGateway, credentials: ClusterCredentials, token: str
) -> None:
    """Garbage in the Authorization header is a 401, never a 500."""
    status, body, challenge = await _ingest_status(gateway, credentials, token)
    assert status == 401
    assert body["status"] == 401
    assert challenge.startswith("Bearer")


async def test_missing_token_is_401_with_challenge(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """No Authorization header: 401 with a Bearer challenge."""
    cluster_id = credentials.cluster.id
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/snapshots",
            content=gzip_json(small_snapshot(cluster_id)),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="slicewise"'
    assert response.headers["content-type"] == "application/problem+json"


async def test_token_from_the_endpoint_has_the_rfc9068_shape(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Header typ/alg/kid and every required claim, bound to the tenant and cluster."""
    header, claims = _segments(await agent_token(gateway, credentials))
    assert header == {"typ": "at+jwt", "alg": "ES256", "kid": gateway.wiring.keys.signer.kid}
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == claims["client_id"] == credentials.agent.client.client_id
    assert claims["scope"] == "ingest"
    assert claims["tenant_id"] == str(credentials.cluster.tenant_id)
    assert claims["cluster_id"] == str(credentials.cluster.id)
    assert int(claims["exp"]) - int(claims["iat"]) == 600  # type: ignore[call-overload]
    assert isinstance(claims["jti"], str)
