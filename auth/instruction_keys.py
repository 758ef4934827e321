"""Instruction-signing keys kept in the database: sealed Ed25519 private keys, trusted public keys.

Each key is a `signing_keys` row of purpose `instruction` (algorithm `EdDSA`): the raw private key
sealed with the deployment's key-encryption key, the public key as an OKP JWK. A key signs from
its `created_at` until a newer key's `created_at` passes, and is trusted until its `retired_at`.

Rotation never leaves executors behind. The new key may be staged (`activate_in`): it is trusted,
and printed for the executors' chart values, before it signs anything. The keys it replaces keep
signing until it activates and stay trusted for `keep_previous_for` afterwards, long enough for
every instruction they signed to expire.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auth.clock import Clock, utc_now
from auth.errors import SealError
from auth.instruction_signing import (
    DEFAULT_TTL,
    InstructionKeyring,
    InstructionSigningKey,
    encode_public_key,
    generate_signing_key,
    raw_public_key,
)
from auth.sealing import KeyEncryptionKey
from store.database import Database
from store.repositories.signing_keys import SigningKeyRecord, SigningKeyRepository

INSTRUCTION_KEYS = "instruction"
"""`signing_keys.purpose` of the keys that sign executor instructions."""
ALGORITHM = "EdDSA"
DEFAULT_KEEP_PREVIOUS = DEFAULT_TTL + timedelta(hours=1)
"""How long a replaced key stays trusted after its successor activates (instruction lifetime
plus a margin for clocks and late results)."""


class NoInstructionKeyError(LookupError):
    """No stored instruction key is usable for signing by this process right now."""


def public_jwk(key: InstructionSigningKey) -> dict[str, Any]:
    """The public half as an OKP JWK (RFC 8037) naming its key id."""
    x = base64.urlsafe_b64encode(raw_public_key(key.public_key)).rstrip(b"=").decode("ascii")
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": key.key_id,
        "use": "sig",
        "alg": ALGORITHM,
    }


def public_key_of(record: SigningKeyRecord) -> Ed25519PublicKey:
    """The verification key of a stored instruction key; ValueError if the JWK is not Ed25519."""
    jwk = record.public_jwk
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError(f"signing key {record.kid} is not an Ed25519 key")
    x = str(jwk.get("x", ""))
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"signing key {record.kid} has a malformed public key") from e
    return Ed25519PublicKey.from_public_bytes(raw)


def seal_instruction_key(key: InstructionSigningKey, kek: KeyEncryptionKey, purpose: str) -> str:
    """The private key sealed for its `signing_keys` row."""
    return kek.seal(key.private_bytes(), _context(purpose, key.key_id))


def unseal_instruction_key(
    record: SigningKeyRecord, kek: KeyEncryptionKey
) -> InstructionSigningKey:
    """The private key of a stored record; SealError if `kek` did not seal it for this row."""
    raw = kek.unseal(record.private_key_sealed, _context(record.purpose, record.kid))
    try:
        key = InstructionSigningKey.from_private_bytes(record.kid, raw)
    except ValueError as e:
        raise SealError(f"signing key {record.kid} does not hold an Ed25519 key") from e
    # A sealed key copied next to another key's public half must not sign in that key's name.
    if raw_public_key(key.public_key) != raw_public_key(public_key_of(record)):
        raise SealError(f"signing key {record.kid} does not match its public key")
    return key


def is_trusted(record: SigningKeyRecord, now: datetime) -> bool:
    """Whether executors should still accept what this key signed (staged keys included)."""
    return record.retired_at is None or record.retired_at > now


def signs_at(record: SigningKeyRecord, now: datetime) -> bool:
    """Whether the key may sign at `now`: activated and not retired."""
    return record.created_at <= now and is_trusted(record, now)


def signing_order(records: Sequence[SigningKeyRecord]) -> list[SigningKeyRecord]:
    """Who signs first: keys not being replaced before those a rotation retires, newest first."""
    return sorted(records, key=lambda r: (r.retired_at is None, r.created_at, r.kid), reverse=True)


def keyring_at(
    records: Sequence[SigningKeyRecord], kek: KeyEncryptionKey, now: datetime
) -> InstructionKeyring:
    """The keyring at `now`: the first active key `kek` opens signs, every trusted key verifies."""
    newest_first = signing_order(records)
    current: InstructionSigningKey | None = None
    for record in newest_first:
        if current is None and signs_at(record, now):
            try:
                current = unseal_instruction_key(record, kek)
            except SealError:
                continue
    if current is None:
        raise NoInstructionKeyError("no active instruction key can be unsealed")
    previous = {
        record.kid: public_key_of(record)
        for record in newest_first
        if record.kid != current.key_id and is_trusted(record, now)
    }
    return InstructionKeyring(current=current, previous=previous)


def trusted_keys_of(records: Sequence[SigningKeyRecord], now: datetime) -> dict[str, str]:
    """`{key id: base64 raw public key}` of every trusted key, as executors are configured."""
    ordered = sorted(records, key=lambda r: (r.created_at, r.kid))
    return {r.kid: encode_public_key(public_key_of(r)) for r in ordered if is_trusted(r, now)}


async def ensure_instruction_key(
    database: Database, kek: KeyEncryptionKey, *, now: datetime, purpose: str = INSTRUCTION_KEYS
) -> SigningKeyRecord:
    """The key that signs now if this process can unseal it, else a new one (first start).

    Replicas call this concurrently at start-up; the advisory lock makes one of them create the
    key and the others find it. Keys this process cannot open are left as they are.
    """
    async with database.system() as session:
        repository = SigningKeyRepository(session, purpose)
        await repository.lock_rotation()
        records = await repository.published(retired_after=now)
        for record in signing_order(records):
            if not signs_at(record, now):
                continue
            try:
                unseal_instruction_key(record, kek)
            except SealError:
                continue
            return record
        return await _add(repository, kek, purpose, generate_signing_key(), now)


async def rotate_instruction_key(
    database: Database,
    kek: KeyEncryptionKey,
    *,
    now: datetime,
    activate_in: timedelta = timedelta(0),
    keep_previous_for: timedelta = DEFAULT_KEEP_PREVIOUS,
    purpose: str = INSTRUCTION_KEYS,
) -> SigningKeyRecord:
    """A key signing from `now + activate_in`; the others retire `keep_previous_for` later."""
    if activate_in < timedelta(0) or keep_previous_for < timedelta(0):
        raise ValueError("activation delay and trust period cannot be negative")
    activates = now + activate_in
    async with database.system() as session:
        repository = SigningKeyRepository(session, purpose)
        await repository.lock_rotation()
        record = await _add(repository, kek, purpose, generate_signing_key(), activates)
        await repository.retire_others(record.kid, activates + keep_previous_for)
        return record


async def trusted_instruction_keys(
    database: Database, *, now: datetime, purpose: str = INSTRUCTION_KEYS
) -> dict[str, str]:
    """The executors' trusted keys as stored (no key-encryption key needed)."""
    async with database.system() as session:
        records = await SigningKeyRepository(session, purpose).published(retired_after=now)
    return trusted_keys_of(records, now)


async def load_instruction_keyring(
    database: Database, kek: KeyEncryptionKey, *, now: datetime, purpose: str = INSTRUCTION_KEYS
) -> InstructionKeyring:
    """The keyring as stored at `now`; NoInstructionKeyError if nothing can sign."""
    async with database.system() as session:
        records = await SigningKeyRepository(session, purpose).published(retired_after=now)
    return keyring_at(records, kek, now)


@dataclass
class InstructionKeys:
    """A process's instruction keys, read from the database and picked by the clock at use."""

    database: Database
    kek: KeyEncryptionKey
    clock: Clock = utc_now
    purpose: str = INSTRUCTION_KEYS
    _records: tuple[SigningKeyRecord, ...] = field(default=(), init=False, repr=False)

    async def start(self) -> None:
        """Make sure a key this process can sign with exists, and read every trusted key."""
        await ensure_instruction_key(
            self.database, self.kek, now=self.clock(), purpose=self.purpose
        )
        await self.reload()

    async def maintain(self) -> None:
        """Periodic duty: pick up rotations made elsewhere (the CLI, another replica)."""
        await self.start()

    async def reload(self) -> None:
        """Read the trusted keys again."""
        async with self.database.system() as session:
            records = await SigningKeyRepository(session, self.purpose).published(
                retired_after=self.clock()
            )
        self._records = tuple(records)

    def keyring(self) -> InstructionKeyring:
        """The keyring now (a staged key starts signing once its time comes, without a reload)."""
        return keyring_at(self._records, self.kek, self.clock())

    def trusted_public_keys(self) -> dict[str, str]:
        """`{key id: base64 raw public key}` for the executors' `trustedKeys` chart value."""
        return trusted_keys_of(self._records, self.clock())


async def _add(
    repository: SigningKeyRepository,
    kek: KeyEncryptionKey,
    purpose: str,
    key: InstructionSigningKey,
    created_at: datetime,
) -> SigningKeyRecord:
    return await repository.add(
        kid=key.key_id,
        algorithm=ALGORITHM,
        private_key_sealed=seal_instruction_key(key, kek, purpose),
        public_jwk=public_jwk(key),
        created_at=created_at,
    )


def _context(purpose: str, kid: str) -> str:
    # The same binding as the access-token keys: a sealed key copied to another row does not open.
    return f"signing_keys/{purpose}/{kid}"
