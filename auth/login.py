"""Console sign-in: by password, or by an identity an OIDC provider vouched for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from auth.errors import InvalidRequestError, LoginFailedError
from auth.hashing import SecretHasher
from auth.principal import user_subject
from auth.provisioning import normalise_email
from auth.scopes import role_scopes
from auth.tokens import IssuedToken, TokenIssuer
from store.database import Database
from store.repositories.users import (
    UserIdentity,
    UserRepository,
    find_user_by_oidc,
    find_users_by_email,
)

CONSOLE_CLIENT_ID = "slicewise-console"
"""The `client_id` claim of tokens issued at console sign-in (RFC 9068 requires one)."""


@dataclass(frozen=True)
class ExternalIdentity:
    """What an identity provider asserted in a verified ID token."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool


@dataclass(frozen=True)
class Session:
    """A signed-in user and the token that carries their role's scopes."""

    user: UserIdentity
    token: IssuedToken


class ConsoleLogin:
    """Find the user behind a sign-in and issue a console token for their role."""

    def __init__(
        self,
        database: Database,
        hasher: SecretHasher,
        issuer: TokenIssuer,
        *,
        session_lifetime: timedelta,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._issuer = issuer
        self._lifetime = session_lifetime

    async def with_password(self, email: str, password: str) -> Session:
        """Sign in with e-mail and password; LoginFailedError says nothing about which was wrong."""
        try:
            address = normalise_email(email)
        except InvalidRequestError:
            address = ""
        candidates = []
        if address:
            async with self._database.system() as session:
                candidates = await find_users_by_email(session, address)
        # The address may belong to users of several tenants: the password says which one.
        for found in candidates:
            if await self._hasher.verify(found.password_hash, password[:256]):
                user = UserIdentity(found.id, found.tenant_id, found.email, found.role)
                return self._session(user)
        if not candidates:
            # An unknown address costs the same hash check as a wrong password.
            await self._hasher.verify(None, password[:256])
        raise LoginFailedError("bad-credentials", "wrong e-mail address or password")

    async def with_identity(self, identity: ExternalIdentity) -> Session:
        """Sign in a user the provider vouched for; first sign-in links by verified e-mail."""
        async with self._database.system() as session:
            user = await find_user_by_oidc(session, identity.issuer, identity.subject)
            by_email = None
            if user is None and identity.email and identity.email_verified:
                matches = await find_users_by_email(session, identity.email.lower())
                # Several tenants' users share the address: linking would have to guess.
                by_email = matches[0] if len(matches) == 1 else None
        if user is None and by_email is not None:
            user = await self._link(by_email.id, by_email.tenant_id, identity)
        if user is None:
            raise LoginFailedError("unknown-user", "no console user for this identity")
        return self._session(user)

    async def _link(
        self, user_id: uuid.UUID, tenant_id: uuid.UUID, identity: ExternalIdentity
    ) -> UserIdentity:
        async with self._database.tenant(tenant_id) as session:
            users = UserRepository(session, tenant_id)
            current = await users.get(user_id)
            if current.oidc_subject is not None:
                # Already bound to another identity of some provider: an e-mail match is not enough.
                raise LoginFailedError("identity-mismatch", "user is linked to another identity")
            linked = await users.link_oidc(user_id, identity.issuer, identity.subject)
        return UserIdentity(linked.id, linked.tenant_id, linked.email, linked.role)

    def _session(self, user: UserIdentity) -> Session:
        token = self._issuer.issue(
            subject=user_subject(user.id),
            client_id=CONSOLE_CLIENT_ID,
            tenant_id=user.tenant_id,
            cluster_id=None,
            scopes=role_scopes(user.role),
            lifetime=self._lifetime,
        )
        return Session(user, token)
