"""The RFC 6749 §4.4 client-credentials grant: authenticate a client, issue its token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from auth.errors import OAuthError
from auth.hashing import SecretHasher
from auth.scopes import parse_scope
from auth.tokens import IssuedToken, TokenIssuer
from store.database import Database
from store.repositories.api_clients import ApiClientCredentials, find_api_client

MAX_CLIENT_ID = 64
MAX_SECRET = 256


@dataclass(frozen=True)
class ClientAuthentication:
    """The credentials a client presented, and how (RFC 6749 §2.3.1)."""

    client_id: str
    client_secret: str
    method: str
    """`client_secret_basic` or `client_secret_post`."""


class SecretCheckGuard(Protocol):
    """Decides, before the costly hash check, whether the caller may try a secret now.

    Implementations raise `OAuthError` (status 429) to refuse; they know the caller's source.
    """

    async def unknown_client(self) -> None:
        """Count a request naming a client id that does not exist; refuse over the budget."""

    async def before_check(self, client_id: str) -> None:
        """Refuse a known client's secret check when this source has failed it too often."""

    async def check_failed(self, client_id: str) -> None:
        """Count a failed secret check of a known client from this source."""


class _Unguarded:
    """No throttling: administrative and test callers that check secrets directly."""

    async def unknown_client(self) -> None:
        """Never refuse."""

    async def before_check(self, client_id: str) -> None:
        """Never refuse."""

    async def check_failed(self, client_id: str) -> None:
        """Count nothing."""


@dataclass(frozen=True)
class Grant:
    """A successful grant: the token and the client it was issued to."""

    token: IssuedToken
    client: ApiClientCredentials


class ClientCredentialsGrant:
    """Checks a client's secret and requested scope, then issues an access token."""

    def __init__(self, database: Database, hasher: SecretHasher, issuer: TokenIssuer) -> None:
        self._database = database
        self._hasher = hasher
        self._issuer = issuer

    async def grant(
        self,
        presented: ClientAuthentication,
        scope: str | None,
        *,
        guard: SecretCheckGuard | None = None,
    ) -> Grant:
        """A token for the client; OAuthError (`invalid_client`, `invalid_scope`) otherwise.

        `guard` is asked before any hash is checked, so a refused caller costs no argon2 work.
        """
        client = await self._authenticate(presented, guard or _Unguarded())
        allowed = frozenset(client.scopes)
        requested = allowed if scope is None else parse_scope(scope)
        if not requested or not requested <= allowed:
            raise OAuthError("invalid_scope", "the requested scope is not granted to this client")
        token = self._issuer.issue(
            subject=client.client_id,
            client_id=client.client_id,
            tenant_id=client.tenant_id,
            cluster_id=client.cluster_id,
            scopes=requested,
        )
        return Grant(token, client)

    async def _authenticate(
        self, presented: ClientAuthentication, guard: SecretCheckGuard
    ) -> ApiClientCredentials:
        client: ApiClientCredentials | None = None
        if len(presented.client_id) <= MAX_CLIENT_ID and len(presented.client_secret) <= MAX_SECRET:
            async with self._database.system() as session:
                client = await find_api_client(session, presented.client_id)
        if client is None:
            await guard.unknown_client()
        else:
            await guard.before_check(client.client_id)
        # An unknown client costs the same hash check as a known one with a wrong secret.
        secret_hash = client.secret_hash if client is not None else None
        matches = await self._hasher.verify(secret_hash, presented.client_secret)
        if client is not None and not matches:
            await guard.check_failed(client.client_id)
        if client is None or not matches or client.revoked_at is not None:
            raise OAuthError("invalid_client", "client authentication failed", status=401)
        return client
