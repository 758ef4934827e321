"""argon2id hashes of client secrets and user passwords."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum argon2id configuration (19 MiB, 2 iterations, 1 lane): about 20 ms per check.
_TIME_COST = 2
_MEMORY_KIB = 19 * 1024
_PARALLELISM = 1


class SecretHasher:
    """Hash and verify secrets; the slow work runs in a thread so the event loop keeps serving."""

    def __init__(
        self,
        *,
        time_cost: int = _TIME_COST,
        memory_kib: int = _MEMORY_KIB,
        parallelism: int = _PARALLELISM,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Checked against when the client or user does not exist, so that timing does not tell.
        self._decoy = self._hasher.hash("slicewise-decoy-secret")

    def hash_now(self, secret: str) -> str:
        """The argon2id hash of `secret` (blocking)."""
        return self._hasher.hash(secret)

    def verify_now(self, secret_hash: str | None, secret: str) -> bool:
        """Whether `secret` matches; a missing hash costs the same time and fails (blocking)."""
        try:
            return self._hasher.verify(secret_hash or self._decoy, secret) and bool(secret_hash)
        except (VerificationError, InvalidHashError):
            return False

    async def hash(self, secret: str) -> str:
        """The argon2id hash of `secret`."""
        return await asyncio.to_thread(self.hash_now, secret)

    async def verify(self, secret_hash: str | None, secret: str) -> bool:
        """Whether `secret` matches `secret_hash` (False for None, after the same work)."""
        return await asyncio.to_thread(self.verify_now, secret_hash, secret)
