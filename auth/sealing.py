"""AES-GCM sealing of private keys under the deployment's key-encryption key."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auth.errors import SealError

_VERSION = "v1"
_NONCE_BYTES = 12
KEY_BYTES = 32


class KeyEncryptionKey:
    """A 256-bit AES-GCM key that seals and unseals secrets bound to a context string."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a key-encryption key is {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, value: str) -> KeyEncryptionKey:
        """Parse the standard (or URL-safe) base64 form used in settings."""
        try:
            raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValueError("the key-encryption key is not valid base64") from e
        return cls(raw)

    @staticmethod
    def generate_base64() -> str:
        """A fresh random key in settings form."""
        return base64.b64encode(os.urandom(KEY_BYTES)).decode()

    def seal(self, plaintext: bytes, context: str) -> str:
        """Encrypt `plaintext`; `context` (e.g. the key id) must be given again to unseal."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def unseal(self, sealed: str, context: str) -> bytes:
        """Decrypt what `seal` produced for the same context; SealError otherwise."""
        version, _, payload = sealed.partition(":")
        if version != _VERSION:
            raise SealError(f"unknown sealing format {version!r}")
        try:
            raw = base64.urlsafe_b64decode(payload)
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (InvalidTag, binascii.Error, ValueError) as e:
            raise SealError("cannot unseal: wrong key-encryption key or altered data") from e
