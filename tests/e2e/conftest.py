"""Fixtures of the end-to-end tests: finished spans of the whole path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.spans import RecordingExporter, install_recording_exporter


@pytest.fixture(scope="session")
def span_exporter() -> RecordingExporter:
    """The session's in-memory span exporter (not recording between tests)."""
    return install_recording_exporter()


@pytest.fixture
def spans(span_exporter: RecordingExporter) -> Iterator[RecordingExporter]:
    """Every span that ends during the test."""
    span_exporter.clear()
    span_exporter.recording = True
    try:
        yield span_exporter
    finally:
        span_exporter.recording = False
        span_exporter.clear()
