"""The agent's view of the cluster: one table per watched kind, kept current by the watchers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agent.changes import Entry, is_significant


@dataclass
class Table:
    """The objects of one kind, keyed by uid, and the resourceVersion they are current at."""

    kind: str
    category: str
    entries: dict[str, Entry] = field(default_factory=dict)
    resource_version: str | None = None
    """Where a watch resumes; None means the next step is a (re)list."""
    synced: bool = False
    """True once the first list has been loaded."""
    relists: int = 0


class Inventory:
    """Tables of every kind plus change signals for the snapshot loop and for observers."""

    def __init__(self, kinds: Iterable[tuple[str, str]]) -> None:
        """Create empty tables for `(kind, category)` pairs."""
        self.tables = {kind: Table(kind, category) for kind, category in kinds}
        self.revision = 0
        """Incremented on every applied change (observers wait on it)."""
        self.significant = asyncio.Event()
        """Set when a significant change arrives; the snapshot loop clears it."""
        self.all_synced = asyncio.Event()
        self._changed = asyncio.Condition()

    def entries(self, kind: str) -> list[Entry]:
        """Current entries of one kind."""
        return list(self.tables[kind].entries.values())

    async def replace(self, kind: str, entries: Mapping[str, Entry], resource_version: str) -> None:
        """Load a full list of one kind (first list or relist after 410 Gone)."""
        table = self.tables[kind]
        old = table.entries
        significant = table.synced and any(
            is_significant(table.category, old.get(uid), entries.get(uid))
            for uid in old.keys() | entries.keys()
        )
        if table.synced:
            table.relists += 1
        table.entries = dict(entries)
        table.resource_version = resource_version
        table.synced = True
        if all(t.synced for t in self.tables.values()):
            self.all_synced.set()
        await self._bump(significant=significant)

    async def apply(
        self, kind: str, event: str, uid: str, entry: Entry | None, resource_version: str
    ) -> None:
        """Apply one watch event (ADDED, MODIFIED, DELETED); `entry` None skips the object."""
        table = self.tables[kind]
        old = table.entries.get(uid)
        if event == "DELETED":
            table.entries.pop(uid, None)
            new = None
        elif entry is not None:
            table.entries[uid] = entry
            new = entry
        else:
            new = old
        table.resource_version = resource_version or table.resource_version
        await self._bump(significant=is_significant(table.category, old, new))

    async def wait_for_revision(self, after: int) -> int:
        """Wait until the revision is past `after`; returns the new revision."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.revision > after)
            return self.revision

    async def _bump(self, *, significant: bool) -> None:
        """Advance the revision, wake observers, flag significance."""
        self.revision += 1
        if significant:
            self.significant.set()
        async with self._changed:
            self._changed.notify_all()
