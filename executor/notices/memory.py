"""Which notice ids the executor has taken, so a notice posted twice is handled once.

Each id is kept until well after its notice's deadline (a watcher stops retrying at the
deadline, and the node is gone by then), and the memory holds at most `capacity` ids, dropping
those due to be forgotten soonest, so no stream of notices can grow it without bound.
"""

from __future__ import annotations

import uuid
from datetime import datetime


class NoticeMemory:
    """Notice ids, each with the time after which it is forgotten."""

    def __init__(self, capacity: int = 4096) -> None:
        """Hold at most `capacity` ids."""
        if capacity < 1:
            raise ValueError("a notice memory needs room for at least one id")
        self.capacity = capacity
        self._until: dict[uuid.UUID, datetime] = {}

    def __len__(self) -> int:
        """How many ids are held."""
        return len(self._until)

    def remember(self, notice_id: uuid.UUID, *, until: datetime, now: datetime) -> bool:
        """Record `notice_id` until `until`; False if it was already held (a duplicate)."""
        for stale in [i for i, end in self._until.items() if end < now]:
            del self._until[stale]
        if notice_id in self._until:
            return False
        while len(self._until) >= self.capacity:
            soonest = min(self._until, key=self._until.__getitem__)
            del self._until[soonest]
        self._until[notice_id] = until
        return True
