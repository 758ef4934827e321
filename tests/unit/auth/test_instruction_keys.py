"""Stored instruction keys: public JWKs, sealing, which key signs and which are trusted when."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auth.errors import SealError
from auth.instruction_keys import (
    ALGORITHM,
    INSTRUCTION_KEYS,
    NoInstructionKeyError,
    keyring_at,
    public_jwk,
    public_key_of,
    seal_instruction_key,
    trusted_keys_of,
    unseal_instruction_key,
)
from auth.instruction_signing import (
    InstructionSigningKey,
    generate_signing_key,
    instruction_body_for,
    raw_public_key,
)
from auth.sealing import KeyEncryptionKey
from executor.verification import load_trusted_keys, verify_signature
from protocol.changes import ChangeSet, Cordon
from store.repositories.signing_keys import SigningKeyRecord

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
KEK = KeyEncryptionKey(bytes(range(32)))
OTHER_KEK = KeyEncryptionKey(bytes(range(1, 33)))


def _record(
    key: InstructionSigningKey,
    *,
    created_at: datetime = NOW - HOUR,
    retired_at: datetime | None = None,
    kek: KeyEncryptionKey = KEK,
) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=key.key_id,
        purpose=INSTRUCTION_KEYS,
        algorithm=ALGORITHM,
        private_key_sealed=seal_instruction_key(key, kek, INSTRUCTION_KEYS),
        public_jwk=public_jwk(key),
        created_at=created_at,
        retired_at=retired_at,
    )


def test_public_jwk_is_an_okp_key_that_reads_back_as_the_same_public_key() -> None:
    """The JWK names curve, key id and algorithm, and its `x` is the raw 32-byte public key."""
    key = generate_signing_key()
    jwk = public_jwk(key)
    raw = raw_public_key(key.public_key)

    assert {k: jwk[k] for k in ("kty", "crv", "kid", "use", "alg")} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "kid": key.key_id,
        "use": "sig",
        "alg": "EdDSA",
    }
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == raw
    assert raw_public_key(public_key_of(_record(key))) == raw


def test_sealed_key_unseals_to_the_same_private_key() -> None:
    """Seal then unseal with the same key-encryption key gives back the 32 private bytes."""
    key = generate_signing_key()

    unsealed = unseal_instruction_key(_record(key), KEK)

    assert (unsealed.key_id, unsealed.private_bytes()) == (key.key_id, key.private_bytes())


def test_unsealing_with_another_key_encryption_key_fails() -> None:
    """A key sealed by another deployment's KEK does not open."""
    with pytest.raises(SealError):
        unseal_instruction_key(_record(generate_signing_key()), OTHER_KEK)


def test_sealed_key_moved_to_another_row_does_not_open() -> None:
    """The ciphertext is bound to its key id: pasted under another id it fails."""
    first, second = generate_signing_key(), generate_signing_key()
    moved = replace(_record(second), private_key_sealed=_record(first).private_key_sealed)

    with pytest.raises(SealError):
        unseal_instruction_key(moved, KEK)


def test_private_key_that_does_not_match_the_public_half_is_refused() -> None:
    """A row whose public JWK belongs to another key cannot sign in its name."""
    key, stranger = generate_signing_key(), generate_signing_key()
    mismatched = replace(_record(key), public_jwk={**public_jwk(stranger), "kid": key.key_id})

    with pytest.raises(SealError, match="does not match its public key"):
        unseal_instruction_key(mismatched, KEK)


def test_newest_active_key_signs_and_older_trusted_keys_verify() -> None:
    """Two active keys: the newer signs, the older is among the previous ones."""
    old, new = generate_signing_key(), generate_signing_key()
    records = [_record(old, created_at=NOW - 2 * HOUR), _record(new, created_at=NOW - HOUR)]

    keyring = keyring_at(records, KEK, NOW)

    assert keyring.current.key_id == new.key_id
    assert set(keyring.previous) == {old.key_id}


def test_key_a_rotation_replaced_gives_way_to_its_successor_created_the_same_instant() -> None:
    """Same `created_at`: the key without a scheduled retirement signs."""
    replaced, successor = generate_signing_key(), generate_signing_key()
    records = [
        _record(replaced, created_at=NOW, retired_at=NOW + HOUR),
        _record(successor, created_at=NOW),
    ]

    assert keyring_at(records, KEK, NOW).current.key_id == successor.key_id


def test_staged_key_is_trusted_before_it_signs_and_signs_once_its_time_comes() -> None:
    """A key created an hour ahead: printed for executors now, signing only after the hour."""
    current, staged = generate_signing_key(), generate_signing_key()
    records = [
        _record(current, created_at=NOW - HOUR, retired_at=NOW + 3 * HOUR),
        _record(staged, created_at=NOW + HOUR),
    ]

    before = keyring_at(records, KEK, NOW)
    after = keyring_at(records, KEK, NOW + 2 * HOUR)

    assert before.current.key_id == current.key_id
    assert set(trusted_keys_of(records, NOW)) == {current.key_id, staged.key_id}
    assert after.current.key_id == staged.key_id
    assert set(after.previous) == {current.key_id}


def test_retired_key_is_trusted_until_its_retirement_and_not_after() -> None:
    """A replaced key verifies until `retired_at`, then disappears from the trusted list."""
    old, new = generate_signing_key(), generate_signing_key()
    records = [
        _record(old, created_at=NOW - 2 * HOUR, retired_at=NOW + HOUR),
        _record(new, created_at=NOW - HOUR),
    ]

    assert set(trusted_keys_of(records, NOW)) == {old.key_id, new.key_id}
    assert set(trusted_keys_of(records, NOW + HOUR)) == {new.key_id}
    assert keyring_at(records, KEK, NOW + HOUR).previous == {}


def test_key_this_process_cannot_unseal_is_skipped_for_signing_but_stays_trusted() -> None:
    """The newest key was sealed elsewhere: the older one signs, the newer one still verifies."""
    mine, foreign = generate_signing_key(), generate_signing_key()
    records = [
        _record(mine, created_at=NOW - 2 * HOUR),
        _record(foreign, created_at=NOW - HOUR, kek=OTHER_KEK),
    ]

    keyring = keyring_at(records, KEK, NOW)

    assert keyring.current.key_id == mine.key_id
    assert set(keyring.previous) == {foreign.key_id}


def test_no_key_that_can_sign_is_an_error() -> None:
    """Only a staged key and a retired one: nothing may sign now."""
    records = [
        _record(generate_signing_key(), created_at=NOW + HOUR),
        _record(generate_signing_key(), created_at=NOW - 2 * HOUR, retired_at=NOW - HOUR),
    ]

    with pytest.raises(NoInstructionKeyError):
        keyring_at(records, KEK, NOW)


def test_printed_trusted_keys_let_the_executor_verify_what_the_keyring_signs() -> None:
    """The executor's own key loader reads the printed keys and accepts the signature."""
    old, new = generate_signing_key(), generate_signing_key()
    records = [_record(old, created_at=NOW - 2 * HOUR), _record(new, created_at=NOW - HOUR)]
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node="gpu-1")]),
        tenant_id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        issued_at=NOW,
    )
    printed = trusted_keys_of(records, NOW)

    instruction = keyring_at(records, KEK, NOW).sign(body)

    assert list(printed) == [old.key_id, new.key_id]
    assert printed[new.key_id] == base64.b64encode(raw_public_key(new.public_key)).decode()
    verify_signature(instruction, load_trusted_keys(printed))
    assert instruction.key_id == new.key_id
