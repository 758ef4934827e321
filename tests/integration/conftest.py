"""Fixtures shared by the integration folders: a durable embedded broker of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.kafka import EmbeddedKafka


@pytest.fixture
def durable_broker(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    """A started broker on durable storage, stopped (storage included) after the test."""
    broker = EmbeddedKafka(tmp_path, durable=True)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
