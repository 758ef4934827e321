"""Worker settings come from `SLICEWISE_WORKER_*` variables."""

from __future__ import annotations

import pytest

from protocol.topics import SNAPSHOTS_TOPIC
from workers.settings import WorkerSettings


def test_settings_read_the_worker_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefixed variables set fields; unprefixed ones are ignored."""
    monkeypatch.setenv("SLICEWISE_WORKER_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("SLICEWISE_WORKER_METRICS_PORT", "9500")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "elsewhere:1")
    settings = WorkerSettings()
    assert (settings.kafka_bootstrap, settings.metrics_port) == ("kafka:9092", 9500)
    assert settings.snapshots_topic == SNAPSHOTS_TOPIC
