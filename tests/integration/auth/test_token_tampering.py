"""Every known way to forge or doctor an access token is refused with a 401 problem.

Each case starts from a genuine token of the gateway (or its public key) and applies one
tampering: unsigned algorithms, HMAC keyed with the public key, a foreign key under the
gateway's kid, keys the token brings along (`jwk`, `jku`), hostile `kid` values, edited claims,
stripped signatures, expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from auth.clock import utc_now
from auth.provisioning import ClusterCredentials
from auth.scopes import AGENT_SCOPES
from tests.integration.auth.bearer_probe import gateway_issuer, mint_agent_token, post_snapshot
from tests.integration.gateway.harness import (
    RunningGateway,
)

Header = dict[str, Any]
Claims = dict[str, Any]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _json(document: dict[str, Any]) -> str:
    return _b64(json.dumps(document).encode())


def _decode(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def _hmac(header: Header, claims: Claims, key: bytes, digest: Any = hashlib.sha256) -> str:
    signing_input = f"{_json(header)}.{_json(claims)}"
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), digest).digest())}"


def _es256(header: Header, claims: Claims, key: ECKey) -> str:
    payload = json.dumps(claims).encode()
    return jws.serialize_compact({**header, "alg": "ES256"}, payload, key, algorithms=["ES256"])


_ATTACKER = ECKey.generate_key("P-256", parameters={"kid": "attacker"}, private=True)


def _public_pem(gateway: RunningGateway) -> bytes:
    return ECKey.import_key(gateway.wiring.keys.jwks()["keys"][0]).as_pem(private=False)


def _public_jwk_json(gateway: RunningGateway) -> bytes:
    return json.dumps(gateway.wiring.keys.jwks()["keys"][0]).encode()


Tampering = Callable[[RunningGateway, str], str]
"""(gateway, genuine token) -> doctored token."""


def _parts(token: str) -> tuple[Header, Claims, str]:
    head, body, signature = token.split(".")
    return _decode(head), _decode(body), signature


def _alg_none(alg: str, keep_signature: bool = False) -> Tampering:
    def tamper(_gateway: RunningGateway, token: str) -> str:
        header, claims, signature = _parts(token)
        return (
            f"{_json({**header, 'alg': alg})}.{_json(claims)}.{signature if keep_signature else ''}"
        )

    return tamper


def _hmac_with(key_of: Callable[[RunningGateway], bytes], alg: str, digest: Any) -> Tampering:
    def tamper(gateway: RunningGateway, token: str) -> str:
        header, claims, _ = _parts(token)
        return _hmac({**header, "alg": alg}, claims, key_of(gateway), digest)

    return tamper


def _foreign_key_known_kid(_gateway: RunningGateway, token: str) -> str:
    header, claims, _ = _parts(token)
    return _es256(header, claims, ECKey.generate_key("P-256", private=True))


def _embedded_jwk(own_kid: bool) -> Tampering:
    def tamper(_gateway: RunningGateway, token: str) -> str:
        header, claims, _ = _parts(token)
        kid = header["kid"] if own_kid else "attacker"
        jwk = {**_ATTACKER.as_dict(private=False), "kid": kid}
        return _es256({**header, "kid": kid, "jwk": jwk}, claims, _ATTACKER)

    return tamper


def _jku(_gateway: RunningGateway, token: str) -> str:
    header, claims, _ = _parts(token)
    return _es256({**header, "jku": "https://attacker.example/jwks.json"}, claims, _ATTACKER)


def _hostile_kid(kid: str) -> Tampering:
    def tamper(_gateway: RunningGateway, token: str) -> str:
        header, claims, _ = _parts(token)
        # Signed with an empty HMAC key: what a kid resolved to /dev/null would verify against.
        return _hmac({**header, "kid": kid, "alg": "HS256"}, claims, b"")

    return tamper


def _edited(change: Callable[[Claims], Claims]) -> Tampering:
    def tamper(_gateway: RunningGateway, token: str) -> str:
        head, _, signature = token.split(".")
        _, claims, _ = _parts(token)
        return f"{head}.{_json(change(claims))}.{signature}"

    return tamper


def _stripped(keep_dot: bool) -> Tampering:
    def tamper(_gateway: RunningGateway, token: str) -> str:
        head, body, _ = token.split(".")
        return f"{head}.{body}." if keep_dot else f"{head}.{body}"

    return tamper


def _expired(gateway: RunningGateway, _token: str) -> str:
    issuer = gateway_issuer(gateway, clock=lambda: utc_now() - timedelta(hours=1))
    return issuer.issue(
        subject="agent",
        client_id="agent",
        tenant_id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        scopes=AGENT_SCOPES,
    ).access_token


TAMPERINGS: dict[str, Tampering] = {
    "alg-none": _alg_none("none"),
    "alg-None": _alg_none("None"),
    "alg-none-signature-kept": _alg_none("none", keep_signature=True),
    "hs256-keyed-with-public-pem": _hmac_with(_public_pem, "HS256", hashlib.sha256),
    "hs256-keyed-with-public-jwk": _hmac_with(_public_jwk_json, "HS256", hashlib.sha256),
    "hs512-keyed-with-public-pem": _hmac_with(_public_pem, "HS512", hashlib.sha512),
    "foreign-key-known-kid": _foreign_key_known_kid,
    "embedded-jwk-own-kid": _embedded_jwk(own_kid=False),
    "embedded-jwk-gateway-kid": _embedded_jwk(own_kid=True),
    "jku-to-attacker": _jku,
    "kid-path-traversal": _hostile_kid("../../../../../../dev/null"),
    "kid-absolute-path": _hostile_kid("/etc/passwd"),
    "kid-sql-injection": _hostile_kid("x' UNION SELECT 'secret"),
    "payload-scope-escalated": _edited(lambda c: {**c, "scope": "ingest instructions admin"}),
    "payload-tenant-changed": _edited(lambda c: {**c, "tenant_id": str(uuid.uuid4())}),
    "signature-stripped": _stripped(keep_dot=True),
    "signature-and-dot-stripped": _stripped(keep_dot=False),
    "expired": _expired,
}


def _genuine(gateway: RunningGateway, credentials: ClusterCredentials) -> str:
    return mint_agent_token(gateway_issuer(gateway), credentials)


async def _ingest(
    gateway: RunningGateway, credentials: ClusterCredentials, token: str
) -> tuple[int, str]:
    response = await post_snapshot(gateway, credentials, token)
    return response.status_code, response.headers["content-type"]


async def test_the_genuine_token_is_accepted(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """The control case: the untouched token ingests."""
    status, _ = await _ingest(gateway, credentials, _genuine(gateway, credentials))
    assert status == 202


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
async def test_tampered_token_is_refused(
    gateway: RunningGateway, credentials: ClusterCredentials, name: str
) -> None:
    """The doctored token gets 401 application/problem+json."""
    token = TAMPERINGS[name](gateway, _genuine(gateway, credentials))
    assert await _ingest(gateway, credentials, token) == (401, "application/problem+json")
