"""Decoding records: valid messages pass, poison is named precisely."""

from __future__ import annotations

import uuid

import pytest

from protocol.topics import SnapshotMessage
from tests.unit.workers.factories import (
    headers,
    message_record,
    record,
    shop_snapshot,
    snapshot_message,
)
from workers.decode import decode, header
from workers.errors import PoisonMessageError


def test_valid_record_decodes_to_the_message() -> None:
    """A gateway-produced record comes back as the same SnapshotMessage."""
    message = snapshot_message(uuid.uuid4(), shop_snapshot(uuid.uuid4(), 1))
    assert decode(message_record(message), SnapshotMessage) == message


def test_missing_schema_header_is_poison() -> None:
    """No schema-version header: refused before the body is read."""
    with pytest.raises(PoisonMessageError, match="missing schema-version header"):
        decode(record(b"{}", record_headers=[]), SnapshotMessage)


def test_other_schema_version_is_poison() -> None:
    """A version-2 message is not guessed at."""
    with pytest.raises(PoisonMessageError, match="unsupported schema-version '2'"):
        decode(record(b"{}", record_headers=headers("2")), SnapshotMessage)


def test_undecodable_json_is_poison() -> None:
    """Truncated JSON is reported as invalid JSON."""
    with pytest.raises(PoisonMessageError, match="Invalid JSON"):
        decode(record(b'{"tenant_id": '), SnapshotMessage)


def test_validation_failure_names_the_fields() -> None:
    """A body missing fields lists them, with the error count."""
    with pytest.raises(PoisonMessageError, match=r"\(2 errors\): received_at: Field required"):
        decode(record(b'{"tenant_id": "%s"}' % str(uuid.uuid4()).encode()), SnapshotMessage)


def test_empty_value_is_poison() -> None:
    """A tombstone (no value) is not a snapshot."""
    with pytest.raises(PoisonMessageError, match="no value"):
        decode(record(None), SnapshotMessage)


def test_header_returns_the_last_value_of_a_repeated_header() -> None:
    """A header sent twice reads as its last value."""
    sent = record(b"", record_headers=[("a", b"1"), ("a", b"2")])
    assert (header(sent, "a"), header(sent, "b")) == (b"2", None)
