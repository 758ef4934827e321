"""What a batch of uploads folded in one transaction writes at its end, once per table.

A minute's upload of a 1,000-pod cluster touches about a thousand usage histories and a thousand
container-hours of cost; folded one by one, every upload rewrote all of them. Folded as a batch
(several minutes of several clusters in one tenant transaction), each history is read once,
folded by every upload of the batch in order, and written once; each container-hour's and
node-hour's cost is summed in memory and added once. The result equals folding the uploads one
transaction each: histories fold the same samples in the same order, and an hour's cost is the
sum of the same parts (the upsert adds the batch's sum instead of each part in turn).

The inventory each applied upload leaves is kept here too, so that the batch's next delta of
the same cluster finds it without reading the inventory back; the worker's `InventoryCache`
learns it only once the transaction has committed.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from recommender.usage.key import ContainerKey
from store.repositories.cost_rollups import (
    ALLOCATION_SUMS,
    NODE_SUMS,
    ContainerHourCost,
    CostRollupRepository,
    NodeHourCost,
)
from store.repositories.usage_states import UsageStateRepository
from workers.ingest.container_history import ContainerHistory
from workers.ingest.inventory_cache import CachedInventory
from workers.ingest.usage_fold import to_record

_ContainerHour = tuple[datetime, str, str, str, str]
"""(hour, namespace, pod, container, node): a container-hour row's identity."""
_NodeHour = tuple[datetime, str]


_Row = TypeVar("_Row", ContainerHourCost, NodeHourCost)


class _Summed(Generic[_Row]):
    """A row's sums over the batch, and its latest row (whose descriptive fields win, as the
    upsert's do)."""

    __slots__ = ("latest", "sums")

    def __init__(self, row: _Row) -> None:
        self.latest: _Row = row
        self.sums: list[float] | None = None
        """None while the row is the only one."""

    def add(self, row: _Row, names: Sequence[str]) -> None:
        if self.sums is None:
            self.sums = [getattr(self.latest, name) for name in names]
        self.latest = row
        for index, name in enumerate(names):
            self.sums[index] += getattr(row, name)

    def row(self, names: Sequence[str]) -> _Row:
        if self.sums is None:
            return self.latest
        sums: dict[str, Any] = dict(zip(names, self.sums, strict=True))
        summed: _Row = dataclasses.replace(self.latest, **sums)
        return summed


class _ClusterCosts:
    """One cluster's cost rows of the batch, summed by row identity, in first-seen order."""

    def __init__(self) -> None:
        self.containers: dict[_ContainerHour, _Summed[ContainerHourCost]] = {}
        self.nodes: dict[_NodeHour, _Summed[NodeHourCost]] = {}
        self.newest: datetime | None = None

    def add(
        self,
        containers: Iterable[ContainerHourCost],
        nodes: Iterable[NodeHourCost],
        taken_at: datetime,
    ) -> None:
        for row in containers:
            key = (row.hour, row.namespace, row.pod, row.container, row.node)
            found = self.containers.get(key)
            if found is None:
                self.containers[key] = _Summed(row)
            else:
                found.add(row, ALLOCATION_SUMS)
        for node in nodes:
            node_key = (node.hour, node.node)
            seen = self.nodes.get(node_key)
            if seen is None:
                self.nodes[node_key] = _Summed(node)
            else:
                seen.add(node, NODE_SUMS)
        if self.newest is None or taken_at > self.newest:
            self.newest = taken_at


class PendingWrites:
    """The histories, cost rows, inventories and signals a batch has produced so far (one
    tenant)."""

    def __init__(self) -> None:
        self._histories: dict[uuid.UUID, dict[ContainerKey, tuple[ContainerHistory, datetime]]]
        self._histories = {}
        self._costs: dict[uuid.UUID, _ClusterCosts] = {}
        self.inventories: dict[uuid.UUID, CachedInventory | None] = {}
        """Per cluster, the inventory its last applied upload made (None: no longer known)."""
        self.after_commit: list[Callable[[], Awaitable[None]]] = []
        """What to tell others once the transaction has committed (resync requests, clearings)."""

    def histories(
        self, cluster_id: uuid.UUID, keys: Iterable[ContainerKey]
    ) -> dict[ContainerKey, ContainerHistory]:
        """The histories of `keys` an earlier upload of the batch folded (others are absent)."""
        held = self._histories.get(cluster_id, {})
        return {key: held[key][0] for key in keys if key in held}

    def keep_histories(
        self,
        cluster_id: uuid.UUID,
        changed: dict[ContainerKey, ContainerHistory],
        observed_at: datetime,
    ) -> None:
        """Write `changed` at the end of the batch; `observed_at` is the upload's time."""
        held = self._histories.setdefault(cluster_id, {})
        for key, history in changed.items():
            held[key] = (history, observed_at)

    def add_costs(
        self,
        cluster_id: uuid.UUID,
        containers: Iterable[ContainerHourCost],
        nodes: Iterable[NodeHourCost],
        taken_at: datetime,
    ) -> None:
        """Add an upload's cost rows (taken at `taken_at`) to the batch's sums."""
        self._costs.setdefault(cluster_id, _ClusterCosts()).add(containers, nodes, taken_at)

    async def flush(
        self,
        usage: UsageStateRepository,
        rollups: CostRollupRepository,
        retention: timedelta,
    ) -> None:
        """Write everything held: one upsert per table and cluster, then forget the cost hours
        older than `retention` before the cluster's newest upload."""
        for cluster_id, held in self._histories.items():
            await usage.put_many(
                cluster_id,
                [to_record(key, history, at) for key, (history, at) in sorted(held.items())],
            )
        for cluster_id, costs in self._costs.items():
            await rollups.add(
                cluster_id,
                [summed.row(ALLOCATION_SUMS) for summed in costs.containers.values()],
                [summed.row(NODE_SUMS) for summed in costs.nodes.values()],
            )
            if costs.newest is not None:
                await rollups.prune(cluster_id, before=costs.newest - retention)
        self._histories.clear()
        self._costs.clear()
