"""ES256 signing keys: generation, sealing for storage, rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from joserfc.jwk import ECKey

from auth.errors import SealError
from auth.sealing import KeyEncryptionKey
from store.database import Database
from store.repositories.signing_keys import SigningKeyRecord, SigningKeyRepository

ACCESS_TOKEN_KEYS = "access_token"  # noqa: S105 - a purpose name, not a secret
"""`signing_keys.purpose` of the keys that sign JWT access tokens."""
ALGORITHM = "ES256"


@dataclass(frozen=True)
class SigningKey:
    """An unsealed private key ready to sign."""

    kid: str
    created_at: datetime
    private: ECKey


def public_key(record: SigningKeyRecord) -> ECKey:
    """The verification key of a stored record."""
    return ECKey.import_key(record.public_jwk)


def unseal_key(record: SigningKeyRecord, kek: KeyEncryptionKey) -> SigningKey:
    """The private key of a stored record; SealError if `kek` did not seal it."""
    pem = kek.unseal(record.private_key_sealed, _context(record.purpose, record.kid))
    key = ECKey.import_key(pem, {"kid": record.kid, "use": "sig", "alg": ALGORITHM})
    return SigningKey(record.kid, record.created_at, key)


async def rotate_signing_key(
    database: Database,
    kek: KeyEncryptionKey,
    *,
    now: datetime,
    purpose: str = ACCESS_TOKEN_KEYS,
) -> SigningKeyRecord:
    """Create a new signing key and retire the others: they verify until their tokens expire."""
    async with database.system() as session:
        repository = SigningKeyRepository(session, purpose)
        await repository.lock_rotation()
        return await _create(repository, kek, purpose, now)


async def ensure_signing_key(
    database: Database,
    kek: KeyEncryptionKey,
    *,
    now: datetime,
    rotate_after: timedelta,
    published_since: datetime,
    purpose: str = ACCESS_TOKEN_KEYS,
) -> SigningKeyRecord:
    """The newest active key if it is usable and young enough, else a fresh one (rotation).

    Replicas call this concurrently at start-up and periodically; the advisory lock makes one of
    them rotate and the others find its key.
    """
    async with database.system() as session:
        repository = SigningKeyRepository(session, purpose)
        await repository.lock_rotation()
        for record in await repository.published(retired_after=published_since):
            if record.retired_at is not None or now - record.created_at >= rotate_after:
                continue
            try:
                unseal_key(record, kek)
            except SealError:
                continue
            return record
        return await _create(repository, kek, purpose, now)


async def _create(
    repository: SigningKeyRepository, kek: KeyEncryptionKey, purpose: str, now: datetime
) -> SigningKeyRecord:
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    kid = key.kid
    if kid is None:  # pragma: no cover - auto_kid always sets a thumbprint
        raise RuntimeError("generated key has no kid")
    public = {**key.as_dict(private=False), "use": "sig", "alg": ALGORITHM}
    sealed = kek.seal(key.as_pem(private=True), _context(purpose, kid))
    record = await repository.add(
        kid=kid,
        algorithm=ALGORITHM,
        private_key_sealed=sealed,
        public_jwk=public,
        created_at=now,
    )
    await repository.retire_others(kid, now)
    return record


def _context(purpose: str, kid: str) -> str:
    # Binds the ciphertext to its row: a sealed key copied to another row does not open.
    return f"signing_keys/{purpose}/{kid}"
