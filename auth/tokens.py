"""JWT access tokens, RFC 9068 profile: issued with the key ring's signer, verified against it."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet

from auth.clock import Clock, utc_now
from auth.errors import InvalidTokenError
from auth.key_ring import KeyRing
from auth.principal import Principal
from auth.scopes import format_scope, parse_scope
from auth.signing_keys import ALGORITHM

TOKEN_TYPE = "at+jwt"  # noqa: S105 - the RFC 9068 media type
_ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class TokenSettings:
    """Issuer and audience every token names, and how long tokens live."""

    issuer: str
    audience: str
    lifetime: timedelta = timedelta(minutes=10)
    leeway: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and what the token endpoint reports about it."""

    access_token: str
    expires_in: int
    scope: str
    jti: str


class TokenIssuer:
    """Signs access tokens for clients (client credentials) and console users (sign-in)."""

    def __init__(self, keys: KeyRing, settings: TokenSettings, *, clock: Clock = utc_now) -> None:
        self._keys = keys
        self._settings = settings
        self._clock = clock

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        tenant_id: uuid.UUID,
        cluster_id: uuid.UUID | None,
        scopes: frozenset[str],
        lifetime: timedelta | None = None,
    ) -> IssuedToken:
        """A token for `subject` with exactly `scopes`."""
        signer = self._keys.signer
        now = int(self._clock().timestamp())
        seconds = int((lifetime or self._settings.lifetime).total_seconds())
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self._settings.issuer,
            "sub": subject,
            "aud": self._settings.audience,
            "exp": now + seconds,
            "iat": now,
            "nbf": now,
            "jti": jti,
            "client_id": client_id,
            "scope": format_scope(scopes),
            "tenant_id": str(tenant_id),
        }
        if cluster_id is not None:
            claims["cluster_id"] = str(cluster_id)
        header = {"alg": ALGORITHM, "kid": signer.kid, "typ": TOKEN_TYPE}
        token = jwt.encode(header, claims, signer.private, algorithms=[ALGORITHM])
        return IssuedToken(token, seconds, claims["scope"], jti)


class RevokedTokens(Protocol):
    """Tokens revoked before they expire, such as signed-out sessions (listed by `jti`)."""

    async def is_revoked(self, principal: Principal) -> bool:
        """Whether the verified token of `principal` was revoked."""
        ...


class TokenVerifier:
    """Checks signature, type, issuer, audience, lifetime and revocation; returns the principal."""

    def __init__(
        self,
        keys: KeyRing,
        settings: TokenSettings,
        *,
        clock: Clock = utc_now,
        revoked: RevokedTokens | None = None,
    ) -> None:
        self._keys = keys
        self._settings = settings
        self._clock = clock
        self._revoked = revoked
        leeway = int(settings.leeway.total_seconds())
        self._claims = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock().timestamp()),
            leeway=leeway,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
            tenant_id={"essential": True},
            scope={"essential": True, "allow_blank": True},
        )

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; InvalidTokenError naming the reason otherwise."""
        if len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidTokenError("malformed")
        header = _unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError("bad-algorithm")
        if str(header.get("typ", "")).lower() not in _ACCEPTED_TYPES:
            raise InvalidTokenError("bad-type")
        kid = header.get("kid")
        key = await self._keys.find(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("unknown-key")
        try:
            decoded = jwt.decode(token, KeySet([key]), algorithms=[ALGORITHM])
            self._claims.validate(decoded.claims)
        except BadSignatureError as e:
            raise InvalidTokenError("bad-signature") from e
        except ExpiredTokenError as e:
            raise InvalidTokenError("expired") from e
        except (InvalidClaimError, MissingClaimError) as e:
            raise InvalidTokenError(_claim_reason(e)) from e
        except (UnsupportedAlgorithmError, InvalidKeyIdError) as e:
            raise InvalidTokenError("bad-algorithm") from e
        except JoseError as e:
            raise InvalidTokenError("malformed") from e
        principal = _principal(decoded.claims)
        if self._revoked is not None and await self._revoked.is_revoked(principal):
            raise InvalidTokenError("revoked")
        return principal


def _unverified_header(token: str) -> dict[str, Any]:
    # Only alg/typ/kid are read before the signature is checked, to pick the key.
    segment = token.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidTokenError("malformed") from e
    if not isinstance(header, dict):
        raise InvalidTokenError("malformed")
    return header


def _claim_reason(error: InvalidClaimError | MissingClaimError) -> str:
    text = str(error)
    if "aud" in text:
        return "wrong-audience"
    if "iss" in text:
        return "wrong-issuer"
    if "nbf" in text:
        return "not-yet-valid"
    return "bad-claims"


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        tenant_id = uuid.UUID(str(claims["tenant_id"]))
        cluster = claims.get("cluster_id")
        cluster_id = uuid.UUID(str(cluster)) if cluster is not None else None
        scope = str(claims["scope"])
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidTokenError("bad-claims") from e
    return Principal(
        subject=str(claims["sub"]),
        client_id=str(claims["client_id"]),
        tenant_id=tenant_id,
        cluster_id=cluster_id,
        scopes=parse_scope(scope),
        token_id=str(claims["jti"]),
        expires_at=expires_at,
    )
