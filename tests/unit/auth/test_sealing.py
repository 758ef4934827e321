"""AES-GCM sealing of private keys under the key-encryption key."""

from __future__ import annotations

import base64

import pytest

from auth.errors import SealError
from auth.sealing import KeyEncryptionKey


def _kek() -> KeyEncryptionKey:
    return KeyEncryptionKey.from_base64(KeyEncryptionKey.generate_base64())


def test_sealed_secret_opens_with_the_same_key_and_context() -> None:
    """Seal then unseal returns the plaintext."""
    kek = _kek()
    assert kek.unseal(kek.seal(b"private pem", "kid-1"), "kid-1") == b"private pem"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    """A fresh nonce per seal: equal plaintexts do not look equal at rest."""
    kek = _kek()
    assert kek.seal(b"same", "c") != kek.seal(b"same", "c")


def test_other_context_does_not_open() -> None:
    """A sealed key moved to another row (other kid) fails to open."""
    kek = _kek()
    with pytest.raises(SealError):
        kek.unseal(kek.seal(b"secret", "kid-1"), "kid-2")


def test_other_key_does_not_open() -> None:
    """Another deployment's KEK cannot open the key."""
    sealed = _kek().seal(b"secret", "kid-1")
    with pytest.raises(SealError):
        _kek().unseal(sealed, "kid-1")


def test_tampered_ciphertext_does_not_open() -> None:
    """Flipping one byte of the ciphertext is detected."""
    kek = _kek()
    version, payload = kek.seal(b"secret", "c").split(":")
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(SealError):
        kek.unseal(f"{version}:{base64.urlsafe_b64encode(bytes(raw)).decode()}", "c")


def test_unknown_format_version_is_refused() -> None:
    """Only the v1 format is understood."""
    with pytest.raises(SealError):
        _kek().unseal("v9:AAAA", "c")


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_key_must_be_32_bytes_of_base64(value: str) -> None:
    """Settings values that are not base64 of 32 bytes are refused."""
    with pytest.raises(ValueError, match="key-encryption key"):
        KeyEncryptionKey.from_base64(value)


def test_url_safe_base64_is_accepted() -> None:
    """The URL-safe alphabet parses to the same key."""
    raw = bytes(range(32))
    standard = KeyEncryptionKey.from_base64(base64.b64encode(raw).decode())
    url_safe = KeyEncryptionKey.from_base64(base64.urlsafe_b64encode(raw).decode())
    assert url_safe.unseal(standard.seal(b"x", "c"), "c") == b"x"
