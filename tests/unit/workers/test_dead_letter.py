"""Dead letters carry the original record and the reason, within the contract's bounds."""

from __future__ import annotations

import base64

from tests.unit.workers.factories import record
from workers.dead_letter import MAX_REASON, dead_letter_for


def test_dead_letter_keeps_value_key_and_position() -> None:
    """Value base64-encoded, key decoded, topic/partition/offset copied."""
    letter = dead_letter_for(record(b"\xff\x00", offset=41, key=b"t/c"), "bad")
    assert (letter.source_topic, letter.partition, letter.offset) == ("snapshots", 0, 41)
    assert base64.b64decode(letter.value_base64) == b"\xff\x00"
    assert (letter.key, letter.reason) == ("t/c", "bad")


def test_long_reason_is_truncated_to_the_contract_limit() -> None:
    """A 5,000-character reason is cut to 2,048."""
    letter = dead_letter_for(record(b""), "x" * 5000)
    assert len(letter.reason) == MAX_REASON == 2048


def test_missing_key_and_value_stay_empty() -> None:
    """A record without key or value gives no key and an empty payload."""
    letter = dead_letter_for(record(None), "tombstone")
    assert (letter.key, letter.value_base64) == (None, "")
