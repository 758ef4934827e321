"""OpenID Connect authorization-code sign-in (with PKCE) against one configured provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import httpx
import httpx2
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from auth.clock import Clock, utc_now
from auth.errors import LoginFailedError
from auth.login import ExternalIdentity

# EdDSA is left out on purpose: the JOSE library flags it as deprecated (RFC 9864).
_ID_TOKEN_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"})
_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class OidcSettings:
    """The provider and how this deployment is registered with it."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid email profile"


@dataclass(frozen=True)
class PendingLogin:
    """What must be remembered between the redirect to the provider and the callback."""

    state: str
    nonce: str
    code_verifier: str
    authorization_url: str


class OidcClient:
    """Starts sign-ins (authorization URL) and finishes them (code exchange, ID token check)."""

    def __init__(
        self, settings: OidcSettings, *, clock: Clock = utc_now, timeout: float = 10.0
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._timeout = timeout
        self._metadata: OpenIDProviderMetadata | None = None
        self._keys: KeySet | None = None

    async def start(self) -> PendingLogin:
        """A fresh state, nonce and PKCE verifier, and the URL to send the browser to."""
        metadata = await self._discover()
        nonce, verifier = generate_token(32), generate_token(64)
        async with self._client() as client:
            url, state = client.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
        return PendingLogin(state, nonce, verifier, url)

    async def finish(self, code: str, *, nonce: str, code_verifier: str) -> ExternalIdentity:
        """Exchange the code and verify the ID token; LoginFailedError if anything is off."""
        metadata = await self._discover()
        try:
            async with self._client() as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except (OAuthError, httpx2.HTTPError, ValueError) as e:
            raise LoginFailedError("provider-refused", "the provider refused the code") from e
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise LoginFailedError("provider-error", "the provider sent no ID token")
        claims = await self._verify_id_token(id_token, nonce)
        email = claims.get("email")
        return ExternalIdentity(
            issuer=self._settings.issuer,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
        )

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self._settings.client_id,
            client_secret=self._settings.client_secret,
            scope=self._settings.scope,
            redirect_uri=self._settings.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            timeout=self._timeout,
        )

    async def _discover(self) -> OpenIDProviderMetadata:
        if self._metadata is not None:
            return self._metadata
        url = self._settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url)
        metadata = OpenIDProviderMetadata(document)
        try:
            metadata.validate()
        except ValueError as e:
            raise LoginFailedError("provider-error", f"bad discovery document: {e}") from e
        if metadata.get("issuer") != self._settings.issuer:
            raise LoginFailedError("provider-error", "discovery document names another issuer")
        self._metadata = metadata
        return metadata

    async def _key_set(self, *, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self._discover()
            document = await self._get_json(metadata["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(cast(KeySetSerialization, document))
            except (JoseError, ValueError, TypeError) as e:
                raise LoginFailedError("provider-error", "bad JWK set") from e
        return self._keys

    async def _verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        metadata = await self._discover()
        offered = metadata.get("id_token_signing_alg_values_supported") or []
        algorithms = sorted(_ID_TOKEN_ALGORITHMS.intersection(offered))
        try:
            keys = await self._key_set(refresh=False)
            decoded = jwt.decode(id_token, keys, algorithms=algorithms)
        except JoseError:
            # Perhaps a key the provider rotated in since we fetched the set: fetch it once more.
            try:
                keys = await self._key_set(refresh=True)
                decoded = jwt.decode(id_token, keys, algorithms=algorithms)
            except JoseError as e:
                raise LoginFailedError("bad-id-token", "ID token signature invalid") from e
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock().timestamp()),
            leeway=_LEEWAY_SECONDS,
            iss={"essential": True, "value": self._settings.issuer},
            aud={"essential": True, "value": self._settings.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as e:
            raise LoginFailedError("bad-id-token", f"ID token rejected: {e}") from e
        audience = decoded.claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        if several and decoded.claims.get("azp") != self._settings.client_id:
            raise LoginFailedError("bad-id-token", "ID token for another party")
        return dict(decoded.claims)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise LoginFailedError("provider-unreachable", f"cannot fetch {url}") from e
        if not isinstance(document, dict):
            raise LoginFailedError("provider-error", f"{url} is not a JSON object")
        return document
