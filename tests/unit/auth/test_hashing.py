"""argon2id hashing of secrets and passwords."""

from __future__ import annotations

from auth.hashing import SecretHasher

HASHER = SecretHasher()


def test_hash_is_argon2id_and_verifies() -> None:
    """The hash is an argon2id PHC string and the secret verifies against it."""
    digest = HASHER.hash_now("s3cret")
    assert digest.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert HASHER.verify_now(digest, "s3cret") is True


def test_wrong_secret_does_not_verify() -> None:
    """Another secret fails."""
    assert HASHER.verify_now(HASHER.hash_now("right"), "wrong") is False


def test_missing_hash_does_not_verify() -> None:
    """No stored hash (unknown client or OIDC-only user) fails, even for the decoy's secret."""
    assert HASHER.verify_now(None, "slicewise-decoy-secret") is False


def test_garbage_hash_does_not_verify() -> None:
    """A corrupt stored hash fails instead of raising."""
    assert HASHER.verify_now("not-a-hash", "x") is False


async def test_async_variants_agree() -> None:
    """The thread-offloaded calls give the same answers."""
    digest = await HASHER.hash("pw")
    assert await HASHER.verify(digest, "pw") is True
    assert await HASHER.verify(digest, "px") is False
