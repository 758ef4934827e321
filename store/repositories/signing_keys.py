"""Signing keys (access tokens, instructions): belong to the deployment, not to a tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ConflictError, NotFoundError
from store.tables import SigningKey


@dataclass(frozen=True)
class SigningKeyRecord:
    """A stored signing key; the private part stays sealed until its user unseals it."""

    kid: str
    purpose: str
    algorithm: str
    private_key_sealed: str
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None


def _record(row: SigningKey) -> SigningKeyRecord:
    return SigningKeyRecord(
        row.kid,
        row.purpose,
        row.algorithm,
        row.private_key_sealed,
        dict(row.public_jwk),
        row.created_at,
        row.retired_at,
    )


class SigningKeyRepository:
    """Add, list and retire signing keys of one purpose; used in `Database.system()`."""

    def __init__(self, session: AsyncSession, purpose: str) -> None:
        self._session = session
        self._purpose = purpose

    async def lock_rotation(self) -> None:
        """Serialise rotations of this purpose until the transaction ends (several replicas)."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
            {"name": f"slicewise.signing_keys.{self._purpose}"},
        )

    async def add(
        self,
        *,
        kid: str,
        algorithm: str,
        private_key_sealed: str,
        public_jwk: dict[str, Any],
        created_at: datetime,
    ) -> SigningKeyRecord:
        """Store a new key; it signs from now on."""
        row = SigningKey(
            kid=kid,
            purpose=self._purpose,
            algorithm=algorithm,
            private_key_sealed=private_key_sealed,
            public_jwk=public_jwk,
            created_at=created_at,
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as e:
            raise ConflictError(f"signing key {kid!r} already exists") from e
        return _record(row)

    async def get(self, kid: str) -> SigningKeyRecord:
        """One key of this purpose by id."""
        row = await self._session.get(SigningKey, kid)
        if row is None or row.purpose != self._purpose:
            raise NotFoundError(f"signing key {kid} not found")
        return _record(row)

    async def published(self, *, retired_after: datetime) -> list[SigningKeyRecord]:
        """Keys still in use or retired after `retired_after`, newest first."""
        rows = await self._session.execute(
            select(SigningKey)
            .where(SigningKey.purpose == self._purpose)
            .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > retired_after))
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
        return [_record(row) for row in rows.scalars()]

    async def retire_others(self, keep_kid: str, at: datetime) -> int:
        """Retire every active key of this purpose except `keep_kid`; returns how many."""
        result = await self._session.execute(
            update(SigningKey)
            .where(SigningKey.purpose == self._purpose)
            .where(SigningKey.retired_at.is_(None))
            .where(SigningKey.kid != keep_kid)
            .values(retired_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)
