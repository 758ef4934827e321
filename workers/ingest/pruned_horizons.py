"""Which clusters' old cost hours a batch forgets: those whose retention horizon has moved.

Cost rows are kept per clock hour, so forgetting the hours before a horizon deletes the same
rows as forgetting those before the horizon rounded up to the hour. That rounded horizon moves
once an hour; until it does, the rows before it are already gone, and a batch need not look
for them again. Only an upload older than the horizon, arriving late, adds rows before it: they
are forgotten when the horizon next moves, within the hour.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def hour_after(moment: datetime) -> datetime:
    """`moment` rounded up to the clock hour (itself if on the hour)."""
    return moment + (_EPOCH - moment) % _HOUR


class PrunedHorizons:
    """The rounded horizon each cluster's cost hours were last forgotten before, as the worker
    remembers it (none for clusters it has not pruned since it started)."""

    def __init__(self, retention: timedelta, limit: int = 100_000) -> None:
        """Keep `retention` of cost hours before each cluster's newest upload; remember the
        horizons of at most `limit` clusters (all are let go once it is reached: a cluster
        forgotten is pruned again by its next batch)."""
        self.retention = retention
        self._limit = limit
        self._pruned: dict[uuid.UUID, datetime] = {}

    def due(self, newest: Mapping[uuid.UUID, datetime]) -> dict[uuid.UUID, datetime]:
        """The horizons to prune before, of the clusters (with their newest upload times)
        whose rounded horizon is later than the one they were last pruned before."""
        horizons = {cluster: hour_after(at - self.retention) for cluster, at in newest.items()}
        return {
            cluster: horizon
            for cluster, horizon in horizons.items()
            if (pruned := self._pruned.get(cluster)) is None or horizon > pruned
        }

    def pruned_now(self, horizons: Mapping[uuid.UUID, datetime]) -> None:
        """Remember that the clusters were pruned before `horizons` (once that has committed)."""
        if len(self._pruned) + len(horizons) > self._limit:
            self._pruned.clear()
        self._pruned.update(horizons)

    async def pruned(self, horizons: Mapping[uuid.UUID, datetime]) -> None:
        """`pruned_now`, as a transaction's after-commit step."""
        self.pruned_now(horizons)
