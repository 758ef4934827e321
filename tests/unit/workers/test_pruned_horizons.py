"""Which clusters' old cost hours a batch forgets (`PrunedHorizons`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from workers.ingest.pruned_horizons import PrunedHorizons, hour_after

RETENTION = timedelta(days=90)
NOW = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


# Hypothesis takes naive bounds and gives moments in the time zones named.
_MOMENTS = st.datetimes(
    min_value=datetime(1971, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(_MOMENTS, _MOMENTS)
def test_rows_before_the_hour_after_are_rows_before_the_moment(
    moment: datetime, row_hour: datetime
) -> None:
    """For rows on the clock hour, `hour < hour_after(moment)` is `hour < moment`, and the
    hour after is on the hour, no earlier than the moment and less than an hour later."""
    row_hour = row_hour.replace(minute=0, second=0, microsecond=0)
    after = hour_after(moment)
    assert (after.minute, after.second, after.microsecond) == (0, 0, 0)
    assert moment <= after < moment + HOUR
    assert (row_hour < after) == (row_hour < moment)


def test_a_cluster_is_due_first_then_again_once_its_horizon_moves_an_hour() -> None:
    """A fresh worker prunes a cluster on its first batch; later batches in the same rounded
    hour do not; the first whose horizon reaches the next hour does."""
    cluster = uuid.uuid4()
    horizons = PrunedHorizons(RETENTION)
    first = horizons.due({cluster: NOW})
    assert first == {cluster: hour_after(NOW - RETENTION)}
    assert horizons.due({cluster: NOW}) == first
    horizons.pruned_now(first)
    assert horizons.due({cluster: NOW + timedelta(minutes=29)}) == {}
    assert horizons.due({cluster: NOW - timedelta(days=3)}) == {}
    moved = NOW + timedelta(minutes=31)
    assert horizons.due({cluster: moved}) == {cluster: hour_after(moved - RETENTION)}


def test_other_clusters_keep_their_own_horizons() -> None:
    """Pruning one cluster leaves another due."""
    pruned, other = uuid.uuid4(), uuid.uuid4()
    horizons = PrunedHorizons(RETENTION)
    horizons.pruned_now(horizons.due({pruned: NOW}))
    assert horizons.due({pruned: NOW, other: NOW}) == {other: hour_after(NOW - RETENTION)}


def test_past_the_limit_every_horizon_is_let_go() -> None:
    """Remembering more clusters than the limit forgets the others: they are due again."""
    first, second = uuid.uuid4(), uuid.uuid4()
    horizons = PrunedHorizons(RETENTION, limit=1)
    horizons.pruned_now(horizons.due({first: NOW}))
    horizons.pruned_now(horizons.due({second: NOW}))
    assert horizons.due({first: NOW, second: NOW}) == {first: hour_after(NOW - RETENTION)}
