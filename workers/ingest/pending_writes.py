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

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from store.repositories.cost_rollups import (
    ALLOCATION_SUMS,
    NODE_SUMS,
    ContainerCostLine,
    ContainerUse,
    CostRollupRepository,
    HourCosts,
    NodeCostLine,
    NodeUse,
)
from store.repositories.usage_states import UsageStateRepository
from workers.ingest.inventory_cache import CachedInventory
from workers.ingest.usage_fold import to_record

_ContainerHour = tuple[datetime, str, str, str, str]
"""(hour, namespace, pod, container, node): a container-hour row's identity."""
_NodeHour = tuple[datetime, str]
_Line = TypeVar("_Line", ContainerCostLine, NodeCostLine)


class _Sums:
    """Sums of cost columns, read by name as a cost line's are."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, float]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> float:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


class _ContainerSums(_Sums):
    __slots__ = ("usage",)

    def __init__(self, usage: ContainerUse, values: dict[str, float]) -> None:
        super().__init__(values)
        self.usage = usage


class _NodeSums(_Sums):
    __slots__ = ("node",)

    def __init__(self, node: NodeUse, values: dict[str, float]) -> None:
        super().__init__(values)
        self.node = node


class _Summed(Generic[_Line]):
    """A row's lines over the batch: the latest line (whose descriptive fields win, as the
    upsert's do) and, once a second line came, the column sums."""

    __slots__ = ("latest", "sums")

    def __init__(self, line: _Line) -> None:
        self.latest: _Line = line
        self.sums: dict[str, float] | None = None
        """None while the line is the only one."""

    def add(self, line: _Line, names: Sequence[str]) -> None:
        if self.sums is None:
            self.sums = {name: getattr(self.latest, name) for name in names}
        self.latest = line
        for name in names:
            self.sums[name] += getattr(line, name)


@dataclass(frozen=True, slots=True)
class _Lines:
    containers: Sequence[ContainerCostLine]
    nodes: Sequence[NodeCostLine]


@dataclass(frozen=True, slots=True)
class _HourLines:
    hour: datetime
    allocation: _Lines


class _ClusterCosts:
    """One cluster's cost lines of the batch, summed by row identity, in first-seen order."""

    def __init__(self) -> None:
        self.containers: dict[_ContainerHour, _Summed[ContainerCostLine]] = {}
        self.nodes: dict[_NodeHour, _Summed[NodeCostLine]] = {}
        self.newest: datetime | None = None

    def add(self, hours: Iterable[HourCosts], taken_at: datetime) -> None:
        for hour in hours:
            for line in hour.allocation.containers:
                use = line.usage
                key = (hour.hour, use.namespace, use.pod, use.container, use.node)
                found = self.containers.get(key)
                if found is None:
                    self.containers[key] = _Summed(line)
                else:
                    found.add(line, ALLOCATION_SUMS)
            for node_line in hour.allocation.nodes:
                node_key = (hour.hour, node_line.node.node)
                seen = self.nodes.get(node_key)
                if seen is None:
                    self.nodes[node_key] = _Summed(node_line)
                else:
                    seen.add(node_line, NODE_SUMS)
        if self.newest is None or taken_at > self.newest:
            self.newest = taken_at

    def hours(self) -> list[_HourLines]:
        """The summed lines, hour by hour, as the repository adds them."""
        containers: dict[datetime, list[ContainerCostLine]] = {}
        for (hour, *_), summed in self.containers.items():
            line: ContainerCostLine = (
                summed.latest
                if summed.sums is None
                else _ContainerSums(summed.latest.usage, summed.sums)
            )
            containers.setdefault(hour, []).append(line)
        nodes: dict[datetime, list[NodeCostLine]] = {}
        for (hour, _), node_summed in self.nodes.items():
            node_line: NodeCostLine = (
                node_summed.latest
                if node_summed.sums is None
                else _NodeSums(node_summed.latest.node, node_summed.sums)
            )
            nodes.setdefault(hour, []).append(node_line)
        return [
            _HourLines(hour, _Lines(containers.get(hour, []), nodes.get(hour, [])))
            for hour in sorted({*containers, *nodes})
        ]


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
        self, cluster_id: uuid.UUID, hours: Iterable[HourCosts], taken_at: datetime
    ) -> None:
        """Add an upload's cost lines (taken at `taken_at`) to the batch's sums."""
        self._costs.setdefault(cluster_id, _ClusterCosts()).add(hours, taken_at)

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
            await rollups.add(cluster_id, costs.hours())
            if costs.newest is not None:
                await rollups.prune(cluster_id, before=costs.newest - retention)
        self._histories.clear()
        self._costs.clear()
