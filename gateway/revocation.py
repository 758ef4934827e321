"""Revoked access tokens: a deny-list of token ids (`jti`) in Redis, each kept until it expires.

Tokens are stateless JWTs, so signing out cannot delete anything; instead the token's id is
listed until the token would have expired anyway, and every replica's verifier refuses it.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

from auth.clock import Clock
from auth.principal import Principal


class RedisRevokedTokens:
    """Revoke tokens and answer the verifier's `RevokedTokens` question."""

    def __init__(self, redis: Redis, *, prefix: str, clock: Clock, leeway_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._leeway = leeway_seconds

    def _key(self, token_id: str) -> str:
        return f"{self._prefix}revoked:{token_id}"

    async def revoke(self, principal: Principal) -> None:
        """List the principal's token until it expires (plus the verifier's leeway)."""
        remaining = (principal.expires_at - self._clock()).total_seconds()
        # The verifier accepts a token for `leeway` past its expiry: keep it listed that long.
        ttl = max(1, math.ceil(remaining) + self._leeway)
        await self._redis.set(self._key(principal.token_id), b"1", ex=ttl)

    async def is_revoked(self, token_id: str) -> bool:
        """Whether the token with this id was revoked."""
        return bool(await self._redis.exists(self._key(token_id)))
