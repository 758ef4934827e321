"""The clock is passed in, so that expiry and rotation can be tested without waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def utc_now() -> datetime:
    """The system clock in UTC."""
    return datetime.now(UTC)
