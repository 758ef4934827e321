"""The replay's clock: simulated history in windows that end now, then live reporting.

History is compressed honestly: each backfill snapshot covers one simulated window (an hour by
default) and carries that window's samples at their simulated times, so the ingested history is
exactly what an agent running for those hours would have sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Window:
    """One backfill snapshot: the samples it carries and the time it is taken at."""

    times: tuple[datetime, ...]
    """Sample times, oldest first; the last one is the snapshot's `taken_at`."""
    hours_done: float
    """Simulated hours of history replayed once this window is delivered."""

    @property
    def taken_at(self) -> datetime:
        """When the snapshot carrying this window is taken (simulated)."""
        return self.times[-1]


def backfill_windows(
    end: datetime, *, hours: float, step_seconds: int, window_seconds: int = 3600
) -> list[Window]:
    """Windows covering the `hours` before `end`, samples every `step_seconds`, oldest first.

    Sample times are `end - k * step` for k counting down to 0, so the history ends exactly at
    `end` and live samples continue from there without a gap.
    """
    if hours <= 0:
        return []
    total = int(hours * 3600 // step_seconds)
    per_window = max(1, window_seconds // step_seconds)
    times = [end - timedelta(seconds=step_seconds * k) for k in range(total - 1, -1, -1)]
    windows = []
    for first in range(0, total, per_window):
        chunk = tuple(times[first : first + per_window])
        done = (first + len(chunk)) * step_seconds / 3600
        windows.append(Window(chunk, round(min(done, hours), 2)))
    return windows
