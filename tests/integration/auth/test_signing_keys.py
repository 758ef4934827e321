"""Signing keys rotate; tokens signed by a retired key verify until they expire."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.errors import InvalidTokenError
from auth.key_ring import KeyRing, KeyRingPolicy
from auth.sealing import KeyEncryptionKey
from auth.signing_keys import rotate_signing_key
from auth.tokens import TokenIssuer, TokenSettings, TokenVerifier
from store.database import Database
from store.repositories.signing_keys import SigningKeyRepository

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
def purpose() -> str:
    """A key purpose of this test only, so other tests' keys never interfere."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kek() -> KeyEncryptionKey:
    """A fresh key-encryption key."""
    return KeyEncryptionKey.from_base64(KeyEncryptionKey.generate_base64())


def _ring(database: Database, kek: KeyEncryptionKey, purpose: str, clock: Clock) -> KeyRing:
    return KeyRing(database, kek, POLICY, purpose=purpose, clock=clock)


def _token(ring: KeyRing, clock: Clock) -> str:
    return (
        TokenIssuer(ring, SETTINGS, clock=clock)
        .issue(
            subject="agent-x",
            client_id="agent-x",
            tenant_id=uuid.uuid4(),
            cluster_id=uuid.uuid4(),
            scopes=frozenset({"ingest"}),
        )
        .access_token
    )


async def test_token_of_previous_key_verifies_until_it_expires(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Issued at T0, key rotated at T0+1m: valid at T0+5m, expired at T0+11m."""
    clock = Clock(T0)
    ring = _ring(database, kek, purpose, clock)
    await ring.start()
    old_kid = ring.signer.kid
    token = _token(ring, clock)
    clock.now = T0 + timedelta(minutes=1)
    new_kid = await ring.rotate()
    verifier = TokenVerifier(ring, SETTINGS, clock=clock)
    clock.now = T0 + timedelta(minutes=5)
    principal = await verifier.verify(token)
    clock.now = T0 + timedelta(minutes=11)
    with pytest.raises(InvalidTokenError) as expired:
        await verifier.verify(token)
    assert new_kid != old_kid
    assert ring.signer.kid == new_kid
    assert principal.client_id == "agent-x"
    assert expired.value.reason == "expired"


async def test_retired_key_leaves_jwks_after_the_publish_window(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Both keys are published right after rotation; the old one is gone once its tokens are."""
    clock = Clock(T0)
    ring = _ring(database, kek, purpose, clock)
    await ring.start()
    old_kid = ring.signer.kid
    new_kid = await ring.rotate()
    both = {key["kid"] for key in ring.jwks()["keys"]}
    clock.now = T0 + POLICY.publish_for + timedelta(seconds=1)
    await ring.reload()
    after = {key["kid"] for key in ring.jwks()["keys"]}
    assert both == {old_kid, new_kid}
    assert after == {new_kid}


async def test_new_tokens_are_signed_with_the_new_key(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """After rotation the token header names the new kid."""
    clock = Clock(T0)
    ring = _ring(database, kek, purpose, clock)
    await ring.start()
    new_kid = await ring.rotate()
    header = _token(ring, clock).split(".", 1)[0]
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"] == new_kid


async def test_another_replica_learns_a_rotated_key_on_first_sight(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Replica B verifies a token from A's brand-new key by reloading on the unknown kid."""
    clock = Clock(T0)
    replica_a = _ring(database, kek, purpose, clock)
    replica_b = _ring(database, kek, purpose, clock)
    await replica_a.start()
    await replica_b.start()
    clock.now = T0 + timedelta(minutes=1)
    await replica_a.rotate()
    token = _token(replica_a, clock)
    principal = await TokenVerifier(replica_b, SETTINGS, clock=clock).verify(token)
    assert principal.subject == "agent-x"


async def test_concurrent_starts_agree_on_one_key(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Two replicas starting at once on an empty table end up signing with the same key."""
    clock = Clock(T0)
    rings = [_ring(database, kek, purpose, clock) for _ in range(2)]
    await asyncio.gather(*(ring.start() for ring in rings))
    assert rings[0].signer.kid == rings[1].signer.kid


async def test_old_key_is_rotated_by_maintenance(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Past rotate_after, periodic maintenance creates a new signing key."""
    clock = Clock(T0)
    ring = _ring(database, kek, purpose, clock)
    await ring.start()
    first = ring.signer.kid
    clock.now = T0 + POLICY.rotate_after - timedelta(minutes=1)
    await ring.maintain()
    kept = ring.signer.kid
    clock.now = T0 + POLICY.rotate_after + timedelta(minutes=1)
    await ring.maintain()
    assert kept == first
    assert ring.signer.kid != first


async def test_key_sealed_under_another_kek_is_replaced_not_used(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """A process whose KEK cannot open the active key creates its own instead of failing."""
    clock = Clock(T0)
    first = _ring(database, kek, purpose, clock)
    await first.start()
    other_kek = KeyEncryptionKey.from_base64(KeyEncryptionKey.generate_base64())
    second = _ring(database, other_kek, purpose, clock)
    await second.start()
    assert second.signer.kid != first.signer.kid


async def test_private_keys_are_stored_sealed(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """The stored private key is AES-GCM ciphertext, not a PEM."""
    record = await rotate_signing_key(database, kek, now=T0, purpose=purpose)
    async with database.system() as session:
        stored = await SigningKeyRepository(session, purpose).get(record.kid)
    assert stored.private_key_sealed.startswith("v1:")
    assert "PRIVATE KEY" not in stored.private_key_sealed
    assert set(stored.public_jwk) >= {"kty", "crv", "x", "y", "kid"}
    assert "d" not in stored.public_jwk
