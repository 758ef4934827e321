"""How the console writes numbers, sizes and times for people (Jinja2 filters and chart labels)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

_IEC = (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def money(value: float | None, *, cents: bool = False) -> str:
    """US dollars with thousands separators: `$1,234` (or `$1,234.50` with cents); `—` for None."""
    if value is None or not math.isfinite(value):
        return "—"
    sign = "-" if value < 0 else ""
    amount = abs(value)
    text = f"{amount:,.2f}" if cents else f"{round(amount):,}"
    return f"{sign}${text}"


def money_compact(value: float | None) -> str:
    """Dollars shortened for headlines and axes: `$950`, `$12.4k`, `$1.2M`."""
    if value is None or not math.isfinite(value):
        return "—"
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if amount >= 1e6:
        return f"{sign}${amount / 1e6:.1f}M"
    if amount >= 1e4:
        return f"{sign}${amount / 1e3:.0f}k"
    if amount >= 1e3:
        return f"{sign}${amount / 1e3:.1f}k"
    return f"{sign}${amount:.0f}"


def cores(value: float) -> str:
    """CPU cores as Kubernetes writes them for small values: `250m`, `1.5 cores`."""
    if value < 1:
        return f"{round(value * 1000)}m"
    return f"{value:.2f}".rstrip("0").rstrip(".") + (" core" if value == 1 else " cores")


def size_bytes(value: float) -> str:
    """Bytes with a binary suffix: `512 MiB`, `1.5 GiB`."""
    for suffix, factor in _IEC:
        if value >= factor:
            scaled = value / factor
            if scaled >= 100:
                return f"{scaled:.0f} {suffix}"
            return f"{scaled:.1f}".removesuffix(".0") + f" {suffix}"
    return f"{round(value)} B"


def percent(value: float | None, digits: int = 0) -> str:
    """A fraction as a percentage: 0.125 -> `12.5 %` with one digit."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value * 100:.{digits}f} %"


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago `moment` was, coarsely: `just now`, `4 min ago`, `3 h ago`, `12 d ago`."""
    if moment is None:
        return "never"
    elapsed = now - moment
    if elapsed < timedelta(minutes=1):
        return "just now"
    if elapsed < timedelta(hours=1):
        return f"{int(elapsed.total_seconds() // 60)} min ago"
    if elapsed < timedelta(days=2):
        return f"{int(elapsed.total_seconds() // 3600)} h ago"
    return f"{elapsed.days} d ago"


def timestamp(moment: datetime | None) -> str:
    """A UTC time to the minute: `2026-11-23 03:45 UTC`."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
