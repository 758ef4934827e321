"""Backfill windows: simulated history that ends now, one snapshot per window."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from demo.replay import progress_every
from demo.timeline import backfill_windows

END = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def test_history_ends_exactly_at_the_end_time() -> None:
    """The last sample of the last window is the replay's start, so live data follows on."""
    windows = backfill_windows(END, hours=2, step_seconds=300)
    assert windows[-1].taken_at == END


def test_windows_hold_an_hour_of_five_minute_samples() -> None:
    """Two hours of 5-minute samples are 24 samples in two windows of 12."""
    windows = backfill_windows(END, hours=2, step_seconds=300)
    assert [len(w.times) for w in windows] == [12, 12]
    assert windows[0].times[0] == END - timedelta(seconds=23 * 300)


def test_windows_report_the_hours_replayed_so_far() -> None:
    """Each window says how much history is delivered once it is sent."""
    windows = backfill_windows(END, hours=3, step_seconds=900)
    assert [w.hours_done for w in windows] == [1.0, 2.0, 3.0]


def test_samples_are_strictly_increasing_across_windows() -> None:
    """No sample time repeats or goes back between windows."""
    times = [t for w in backfill_windows(END, hours=5, step_seconds=600) for t in w.times]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert len(times) == 30


def test_no_history_gives_no_windows() -> None:
    """Zero hours of backfill sends nothing before going live."""
    assert backfill_windows(END, hours=0, step_seconds=300) == []


def test_progress_is_reported_about_eight_times() -> None:
    """48 hours report every 6 hours; a short history every hour."""
    assert progress_every(48) == 6.0
    assert progress_every(3) == 1.0
