"""The keys a process signs and verifies with, reloaded from the database as they rotate."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from joserfc.jwk import ECKey

from auth.clock import Clock, utc_now
from auth.errors import SealError
from auth.sealing import KeyEncryptionKey
from auth.signing_keys import (
    ACCESS_TOKEN_KEYS,
    SigningKey,
    ensure_signing_key,
    public_key,
    rotate_signing_key,
    unseal_key,
)
from store.database import Database
from store.repositories.signing_keys import SigningKeyRepository

_log = structlog.get_logger("auth.keys")


@dataclass(frozen=True)
class KeyRingPolicy:
    """How long keys sign and how long they stay published afterwards."""

    publish_for: timedelta
    """At least the longest token lifetime plus clock leeway."""
    rotate_after: timedelta = timedelta(days=7)
    min_reload_interval: timedelta = timedelta(seconds=5)
    """An unknown `kid` reloads the keys at most this often (bad tokens cannot flood the DB)."""


class KeyRing:
    """Published verification keys plus the current signing key of one purpose."""

    def __init__(
        self,
        database: Database,
        kek: KeyEncryptionKey,
        policy: KeyRingPolicy,
        *,
        purpose: str = ACCESS_TOKEN_KEYS,
        clock: Clock = utc_now,
    ) -> None:
        self._database = database
        self._kek = kek
        self._policy = policy
        self._purpose = purpose
        self._clock = clock
        self._public: dict[str, ECKey] = {}
        self._jwks: list[dict[str, Any]] = []
        self._signer: SigningKey | None = None
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def signer(self) -> SigningKey:
        """The key new tokens are signed with."""
        if self._signer is None:
            raise RuntimeError("key ring not loaded")
        return self._signer

    def jwks(self) -> dict[str, Any]:
        """The JWK Set document of every published key."""
        return {"keys": list(self._jwks)}

    def known(self, kid: str) -> ECKey | None:
        """The verification key for `kid` if it is published (no reload)."""
        return self._public.get(kid)

    async def find(self, kid: str) -> ECKey | None:
        """The verification key for `kid`, reloading once if another replica just rotated."""
        key = self._public.get(kid)
        if key is not None:
            return key
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._policy.min_reload_interval:
            await self.reload()
        return self._public.get(kid)

    async def start(self) -> None:
        """Make sure a usable signing key exists (creating one if needed) and load the ring."""
        now = self._clock()
        await ensure_signing_key(
            self._database,
            self._kek,
            now=now,
            rotate_after=self._policy.rotate_after,
            published_since=now - self._policy.publish_for,
            purpose=self._purpose,
        )
        await self.reload()

    async def maintain(self) -> None:
        """Periodic duty: rotate when the signing key is old, and pick up others' rotations."""
        await self.start()

    async def rotate(self) -> str:
        """Rotate now; returns the new key id."""
        record = await rotate_signing_key(
            self._database, self._kek, now=self._clock(), purpose=self._purpose
        )
        await self.reload()
        return record.kid

    async def reload(self) -> None:
        """Read the published keys and pick the newest active one this process can unseal."""
        async with self._lock:
            now = self._clock()
            async with self._database.system() as session:
                records = await SigningKeyRepository(session, self._purpose).published(
                    retired_after=now - self._policy.publish_for
                )
            public: dict[str, ECKey] = {}
            signer: SigningKey | None = None
            for record in records:
                public[record.kid] = public_key(record)
                if signer is None and record.retired_at is None:
                    try:
                        signer = unseal_key(record, self._kek)
                    except SealError:
                        _log.warning("signing key cannot be unsealed", kid=record.kid)
            self._public = public
            self._jwks = [dict(record.public_jwk) for record in records]
            if signer is not None:
                self._signer = signer
            self._loaded_at = now
