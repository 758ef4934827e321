"""Principals of bearer tokens verified a moment ago, so an agent's every upload does not have
its token's signature checked again.

An agent sends the same access token with every upload until it expires; checking its ECDSA
signature and claims each time is most of the cost of authenticating it. A token verified once
is held here, by its exact text, until it expires or for `hold_seconds` at most (so a signing
key withdrawn in an emergency stops being honoured within that time). Console sessions are
never held: signing out revokes them, and only the verifier asks the deny-list.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from auth.clock import Clock
from auth.login import CONSOLE_CLIENT_ID
from auth.principal import Principal
from auth.tokens import TokenVerifier

DEFAULT_HOLD_SECONDS = 60.0
DEFAULT_CAPACITY = 10_000


class VerifiedTokens:
    """`TokenVerifier.verify`, answered from memory for tokens it accepted a moment ago."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        clock: Clock,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        """Hold at most `capacity` tokens, each for at most `hold_seconds`."""
        self._verifier = verifier
        self._clock = clock
        self._hold = timedelta(seconds=hold_seconds)
        self._capacity = capacity
        self._held: dict[str, tuple[Principal, datetime]] = {}

    async def verify(self, token: str) -> Principal:
        """The token's principal; InvalidTokenError as the verifier raises it."""
        now = self._clock()
        held = self._held.get(token)
        if held is not None:
            principal, until = held
            if now < until:
                return principal
            del self._held[token]
        principal = await self._verifier.verify(token)
        if principal.client_id != CONSOLE_CLIENT_ID:
            if len(self._held) >= self._capacity:
                del self._held[next(iter(self._held))]  # the longest held
            self._held[token] = (principal, min(principal.expires_at, now + self._hold))
        return principal
