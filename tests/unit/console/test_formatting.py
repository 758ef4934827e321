"""Numbers, sizes and times are written the way people read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.console.formatting import (
    ago,
    cores,
    money,
    money_compact,
    percent,
    size_bytes,
    timestamp,
)


@pytest.mark.parametrize(
    ("value", "cents", "expected"),
    [
        (1234.5, False, "$1,234"),
        (1235.5, False, "$1,236"),
        (12.5, True, "$12.50"),
        (-311.4, False, "-$311"),
        (None, False, "—"),
        (float("nan"), False, "—"),
    ],
)
def test_money(value: float | None, cents: bool, expected: str) -> None:
    """Dollars with separators; round half to even as Python does; a dash when unknown."""
    assert money(value, cents=cents) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(950, "$950"), (1250, "$1.2k"), (12_400, "$12k"), (1_234_567, "$1.2M"), (-2500, "-$2.5k")],
)
def test_money_compact(value: float, expected: str) -> None:
    """Headline dollars are shortened to k and M."""
    assert money_compact(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(0.25, "250m"), (1.0, "1 core"), (1.5, "1.5 cores"), (2.0, "2 cores")]
)
def test_cores(value: float, expected: str) -> None:
    """Millicores below one core, cores above."""
    assert cores(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (512 * 2**20, "512 MiB"),
        (100 * 2**20, "100 MiB"),
        (1.5 * 2**30, "1.5 GiB"),
        (3 * 2**40, "3 TiB"),
        (100, "100 B"),
    ],
)
def test_size_bytes(value: float, expected: str) -> None:
    """Binary suffixes."""
    assert size_bytes(value) == expected


def test_percent() -> None:
    """A fraction as a percentage with the asked digits."""
    assert (percent(0.125, 1), percent(0.5), percent(None)) == ("12.5 %", "50 %", "—")


def test_ago() -> None:
    """Coarse relative times."""
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert [
        ago(None, now),
        ago(now - timedelta(seconds=20), now),
        ago(now - timedelta(minutes=4, seconds=50), now),
        ago(now - timedelta(hours=30), now),
        ago(now - timedelta(days=12), now),
    ] == ["never", "just now", "4 min ago", "30 h ago", "12 d ago"]


def test_timestamp_is_in_utc() -> None:
    """Times in another zone are shown in UTC."""
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 11, 23, 13, 5, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert timestamp(moment) == "2026-11-23 12:05 UTC"
