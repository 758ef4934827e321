"""Instruction keys in the database: created once, rotated (staged or not), printed as trusted."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import URL

from auth.instruction_keys import (
    InstructionKeys,
    ensure_instruction_key,
    load_instruction_keyring,
    rotate_instruction_key,
    trusted_instruction_keys,
)
from auth.sealing import KeyEncryptionKey
from cli.main import main
from devstack.services import ServiceUrls
from store.database import Database
from store.migrate import upgrade
from store.repositories.signing_keys import SigningKeyRepository
from store.roles import DEFAULT_APP_ROLE, app_url
from store.scratch import create_scratch_database, drop_scratch_database
from tests.integration.gateway.harness import RunningGateway

HOUR = timedelta(hours=1)
KEK_ENV = "SLICEWISE_GATEWAY_KEY_ENCRYPTION_KEY"


@pytest.fixture
def purpose() -> str:
    """A purpose of this test's own, so its keys are not the session gateways' keys."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kek() -> KeyEncryptionKey:
    """A key-encryption key of this test."""
    return KeyEncryptionKey.from_base64(KeyEncryptionKey.generate_base64())


async def test_ensure_creates_one_key_and_finds_it_again(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Two start-ups, one key: stored as EdDSA with an OKP public key, and it signs."""
    now = datetime.now(UTC)

    first = await ensure_instruction_key(database, kek, now=now, purpose=purpose)
    second = await ensure_instruction_key(database, kek, now=now + HOUR, purpose=purpose)
    keyring = await load_instruction_keyring(database, kek, now=now, purpose=purpose)

    assert second.kid == first.kid
    assert (first.algorithm, first.public_jwk["kty"]) == ("EdDSA", "OKP")
    assert keyring.current.key_id == first.kid
    assert first.private_key_sealed.startswith("v1:")  # sealed, never the raw key


async def test_concurrent_start_ups_agree_on_one_key(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Replicas starting together: the advisory lock lets one create, the rest find it."""
    now = datetime.now(UTC)

    records = await asyncio.gather(
        *(ensure_instruction_key(database, kek, now=now, purpose=purpose) for _ in range(4))
    )

    assert len({record.kid for record in records}) == 1


async def test_rotation_signs_with_the_new_key_and_trusts_the_old_one_until_retired(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """After rotation the new key signs; the old one is trusted for `keep_previous_for`."""
    now = datetime.now(UTC)
    old = await ensure_instruction_key(database, kek, now=now, purpose=purpose)

    new = await rotate_instruction_key(
        database, kek, now=now, keep_previous_for=2 * HOUR, purpose=purpose
    )

    keyring = await load_instruction_keyring(database, kek, now=now, purpose=purpose)
    assert keyring.current.key_id == new.kid
    assert set(keyring.previous) == {old.kid}
    assert set(await trusted_instruction_keys(database, now=now, purpose=purpose)) == {
        old.kid,
        new.kid,
    }
    later = now + 2 * HOUR
    assert list(await trusted_instruction_keys(database, now=later, purpose=purpose)) == [new.kid]
    async with database.system() as session:
        retired = await SigningKeyRepository(session, purpose).get(old.kid)
    assert retired.retired_at == now + 2 * HOUR


async def test_staged_rotation_keeps_the_old_key_signing_until_activation(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """Staged an hour ahead: printed at once, signing only from the hour on."""
    now = datetime.now(UTC)
    old = await ensure_instruction_key(database, kek, now=now, purpose=purpose)

    staged = await rotate_instruction_key(database, kek, now=now, activate_in=HOUR, purpose=purpose)

    printed = await trusted_instruction_keys(database, now=now, purpose=purpose)
    before = await load_instruction_keyring(database, kek, now=now, purpose=purpose)
    after = await load_instruction_keyring(database, kek, now=now + HOUR, purpose=purpose)
    assert set(printed) == {old.kid, staged.kid}
    assert before.current.key_id == old.kid
    assert after.current.key_id == staged.kid


async def test_a_process_with_another_kek_adds_its_own_key_and_leaves_the_first_trusted(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """A key it cannot open is kept (and trusted); the process signs with a key of its own."""
    now = datetime.now(UTC)
    other = KeyEncryptionKey.from_base64(KeyEncryptionKey.generate_base64())
    first = await ensure_instruction_key(database, kek, now=now, purpose=purpose)

    own = await ensure_instruction_key(database, other, now=now, purpose=purpose)

    assert own.kid != first.kid
    keyring = await load_instruction_keyring(database, other, now=now, purpose=purpose)
    assert keyring.current.key_id == own.kid
    assert set(keyring.previous) == {first.kid}


async def test_process_keys_pick_up_a_rotation_made_elsewhere_on_maintenance(
    database: Database, kek: KeyEncryptionKey, purpose: str
) -> None:
    """A gateway's keys: after another process rotates, the next maintenance signs anew."""
    keys = InstructionKeys(database, kek, purpose=purpose)
    await keys.start()
    before = keys.keyring().current.key_id

    rotated = await rotate_instruction_key(database, kek, now=datetime.now(UTC), purpose=purpose)
    stale = keys.keyring().current.key_id
    await keys.maintain()

    assert stale == before
    assert keys.keyring().current.key_id == rotated.kid
    assert set(keys.trusted_public_keys()) == {before, rotated.kid}


async def test_the_gateway_signs_with_a_stored_key_it_prints_as_trusted(
    gateway: RunningGateway, database: Database
) -> None:
    """The session gateway's current key is among the stored trusted keys."""
    current = gateway.wiring.instruction_keys.keyring().current

    stored = await trusted_instruction_keys(database, now=datetime.now(UTC))

    assert current.key_id in stored


@pytest.fixture
async def scratch_owner_url(services: ServiceUrls) -> AsyncIterator[URL]:
    """A migrated database of this test's own (the CLI works on the default purpose)."""
    url = await create_scratch_database(services.database_url, "slicewise_test")
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await drop_scratch_database(url, services.database_url)


async def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    # The command runs its own event loop, so it gets a thread of its own.
    code = await asyncio.to_thread(main, argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_cli_prints_trusted_keys_and_rotates(
    scratch_owner_url: URL,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`instruction-keys` prints the executor's JSON; `rotate-instruction-key` adds a key."""
    monkeypatch.setenv("DATABASE_URL", scratch_owner_url.render_as_string(hide_password=False))
    monkeypatch.delenv("SLICEWISE_DATABASE_URL", raising=False)
    secret = KeyEncryptionKey.generate_base64()
    monkeypatch.setenv(KEK_ENV, secret)
    database = Database(app_url(scratch_owner_url, DEFAULT_APP_ROLE), pool_size=1)
    try:
        first = await ensure_instruction_key(
            database, KeyEncryptionKey.from_base64(secret), now=datetime.now(UTC)
        )
        listed = await _cli(["admin", "instruction-keys"], capsys)
        rotated = await _cli(
            ["admin", "rotate-instruction-key", "--activate-in-hours", "1"], capsys
        )
        stored = await trusted_instruction_keys(database, now=datetime.now(UTC))
    finally:
        await database.dispose()

    code, out, _ = listed
    assert code == 0
    assert json.loads(out) == {first.kid: stored[first.kid]}
    code, out, _ = rotated
    printed = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert code == 0
    assert set(stored) == {first.kid, printed["kid"]}
    assert json.loads(printed["trusted_keys"]) == stored
    assert datetime.fromisoformat(printed["activates_at"]) > datetime.now(UTC) + HOUR / 2


async def test_cli_rotation_without_the_key_encryption_key_fails_cleanly(
    scratch_owner_url: URL, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No KEK in the environment: exit 1 and a message naming the variable, nothing stored."""
    monkeypatch.setenv("DATABASE_URL", scratch_owner_url.render_as_string(hide_password=False))
    monkeypatch.delenv("SLICEWISE_DATABASE_URL", raising=False)
    monkeypatch.delenv(KEK_ENV, raising=False)

    code, _, err = await _cli(["admin", "rotate-instruction-key"], capsys)
    listed_code, out, _ = await _cli(["admin", "instruction-keys"], capsys)

    assert code == 1
    assert KEK_ENV in err
    assert (listed_code, json.loads(out)) == (0, {})
