"""Revoked access tokens: a deny-list of token ids (`jti`) in Redis, each kept until it expires.

Tokens are stateless JWTs, so signing out cannot delete anything; instead the token's id is
listed until the token would have expired anyway, and every replica's verifier refuses it.
Only console sessions are ever signed out, so only their verification asks Redis: agents' and
executors' requests (ingest, instructions) pay no extra round trip.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

from auth.clock import Clock
from auth.login import CONSOLE_CLIENT_ID
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

    async def revoke(self, principal: Principal) -> bool:
        """List a console session's token until it expires (plus the verifier's leeway).

        False, listing nothing, for any other token: clients have no session to end.
        """
        if not _is_session(principal):
            return False
        remaining = (principal.expires_at - self._clock()).total_seconds()
        # The verifier accepts a token for `leeway` past its expiry: keep it listed that long.
        ttl = max(1, math.ceil(remaining) + self._leeway)
        await self._redis.set(self._key(principal.token_id), b"1", ex=ttl)
        return True

    async def is_revoked(self, principal: Principal) -> bool:
        """Whether the principal's token is a signed-out console session."""
        if not _is_session(principal):
            return False
        return bool(await self._redis.exists(self._key(principal.token_id)))


def _is_session(principal: Principal) -> bool:
    return principal.client_id == CONSOLE_CLIENT_ID
