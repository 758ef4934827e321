"""Console users of the current tenant, and the sign-in look-ups that cross tenants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ConflictError, NotFoundError
from store.tables import User


@dataclass(frozen=True)
class UserView:
    """A console user without the password hash."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: str
    has_password: bool
    oidc_issuer: str | None
    oidc_subject: str | None
    created_at: datetime


@dataclass(frozen=True)
class UserCredentials:
    """A user found by e-mail at sign-in time, with the password hash to check."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: str
    password_hash: str | None


@dataclass(frozen=True)
class UserIdentity:
    """A user found by an external identity provider's (issuer, subject)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: str


def _view(row: User) -> UserView:
    return UserView(
        row.id,
        row.tenant_id,
        row.email,
        row.role,
        row.password_hash is not None,
        row.oidc_issuer,
        row.oidc_subject,
        row.created_at,
    )


class UserRepository:
    """Create, read and update the session tenant's console users."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def create(self, email: str, *, role: str, password_hash: str | None = None) -> UserView:
        """Add a user; ConflictError if the tenant already has a user with this address.

        Addresses are unique per tenant only, so the answer never depends on other tenants.
        """
        row = User(
            id=uuid.uuid4(),
            tenant_id=self._tenant_id,
            email=email,
            role=role,
            password_hash=password_hash,
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as e:
            raise ConflictError(f"a user with e-mail {email!r} already exists") from e
        await self._session.refresh(row)
        return _view(row)

    async def get(self, user_id: uuid.UUID) -> UserView:
        """One user; NotFoundError if absent or another tenant's."""
        return _view(await self._row(user_id))

    async def list(self) -> list[UserView]:
        """Every user of the tenant, by e-mail."""
        rows = await self._session.execute(select(User).order_by(User.email))
        return [_view(row) for row in rows.scalars()]

    async def set_role(self, user_id: uuid.UUID, role: str) -> UserView:
        """Change a user's role."""
        row = await self._row(user_id)
        row.role = role
        await self._session.flush()
        return _view(row)

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str | None) -> UserView:
        """Replace (or remove, with None) a user's password hash."""
        row = await self._row(user_id)
        row.password_hash = password_hash
        await self._session.flush()
        return _view(row)

    async def link_oidc(self, user_id: uuid.UUID, issuer: str, subject: str) -> UserView:
        """Bind a user to an external identity: later sign-ins find them by (issuer, subject)."""
        row = await self._row(user_id)
        row.oidc_issuer = issuer
        row.oidc_subject = subject
        await self._session.flush()
        return _view(row)

    async def _row(self, user_id: uuid.UUID) -> User:
        row = await self._session.get(User, user_id)
        if row is None:
            raise NotFoundError(f"user {user_id} not found")
        return row


async def find_users_by_email(session: AsyncSession, email: str) -> list[UserCredentials]:
    """Sign-in look-up by e-mail (case-insensitive) in every tenant, through the definer function.

    Several tenants may each have a user with the same address; they come ordered by id.
    """
    result = await session.execute(
        text(
            "SELECT f.id, f.tenant_id, f.email, f.role, f.password_hash "
            "FROM slicewise_find_user_by_email(:email) AS f ORDER BY f.id"
        ),
        {"email": email},
    )
    return [
        UserCredentials(row.id, row.tenant_id, row.email, row.role, row.password_hash)
        for row in result
    ]


async def find_user_by_oidc(
    session: AsyncSession, issuer: str, subject: str
) -> UserIdentity | None:
    """Sign-in look-up by external identity in any tenant, through the definer function."""
    result = await session.execute(
        text(
            "SELECT id, tenant_id, email, role FROM slicewise_find_user_by_oidc(:issuer, :subject)"
        ),
        {"issuer": issuer, "subject": subject},
    )
    row = result.one_or_none()
    if row is None:
        return None
    return UserIdentity(row.id, row.tenant_id, row.email, row.role)
