"""Tokens verified a moment ago are answered from memory, never past their expiry or the hold,
and console sessions (which signing out revokes) never are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.errors import InvalidTokenError
from auth.key_ring import KeyRing, KeyRingPolicy
from auth.login import CONSOLE_CLIENT_ID
from auth.sealing import KeyEncryptionKey
from auth.tokens import TokenIssuer, TokenSettings, TokenVerifier
from gateway.verified_tokens import VerifiedTokens
from store.database import Database

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
LIFETIME = timedelta(minutes=10)
SETTINGS = TokenSettings(issuer="https://issuer.test", audience="api", lifetime=LIFETIME)
POLICY = KeyRingPolicy(publish_for=LIFETIME + timedelta(seconds=30), rotate_after=timedelta(days=7))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def ring(database: Database) -> KeyRing:
    """A started key ring of this test's own purpose."""
    kek = KeyEncryptionKey.from_base64(KeyEncryptionKey.generate_base64())
    keys = KeyRing(database, kek, POLICY, purpose=f"t-{uuid.uuid4().hex[:10]}", clock=Clock(T0))
    await keys.start()
    return keys


def _token(ring: KeyRing, clock: Clock, client_id: str = "agent-x") -> str:
    return (
        TokenIssuer(ring, SETTINGS, clock=clock)
        .issue(
            subject=client_id,
            client_id=client_id,
            tenant_id=uuid.uuid4(),
            cluster_id=uuid.uuid4(),
            scopes=frozenset({"ingest"}),
        )
        .access_token
    )


def _tokens(ring: KeyRing, clock: Clock) -> VerifiedTokens:
    return VerifiedTokens(TokenVerifier(ring, SETTINGS, clock=clock), clock=clock, hold_seconds=60)


async def test_a_token_is_answered_from_memory_within_the_hold(ring: KeyRing) -> None:
    """Verified again within the hold: the same principal; after it: verified afresh."""
    clock = Clock(T0)
    tokens, token = _tokens(ring, clock), _token(ring, clock)
    first = await tokens.verify(token)
    clock.now = T0 + timedelta(seconds=30)
    assert await tokens.verify(token) is first
    clock.now = T0 + timedelta(seconds=61)
    again = await tokens.verify(token)
    assert again == first
    assert again is not first


async def test_a_held_token_is_refused_once_expired(ring: KeyRing) -> None:
    """Holding never outlives the token: past its expiry the verifier refuses it."""
    clock = Clock(T0)
    tokens, token = _tokens(ring, clock), _token(ring, clock)
    await tokens.verify(token)
    clock.now = T0 + LIFETIME + timedelta(minutes=5)
    with pytest.raises(InvalidTokenError, match="expired"):
        await tokens.verify(token)


async def test_console_sessions_are_never_held(ring: KeyRing) -> None:
    """A session token is verified every time (signing out must take effect at once)."""
    clock = Clock(T0)
    tokens, token = _tokens(ring, clock), _token(ring, clock, CONSOLE_CLIENT_ID)
    first = await tokens.verify(token)
    assert await tokens.verify(token) is not first
