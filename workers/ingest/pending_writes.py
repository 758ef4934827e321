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
learns it only once the transaction has committed. The stored inventory rows, the clusters'
ingest columns and the uploads' index rows are written once per batch as well, each in one
statement for every cluster (`PendingInventory`, `change_ingest`, `locked_clusters`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from recommender.cost.cost_columns import CostColumns
from recommender.ordered_groups import group_sums
from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from store.repositories.cost_rollups import (
    ClusterCostRows,
    ContainerCostRows,
    CostRollupRepository,
    NodeCostRows,
)
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import ClusterIngestState, SnapshotRepository, UploadIndexRow
from store.repositories.usage_states import UsageStateRepository
from workers.ingest.inventory_cache import CachedInventory
from workers.ingest.pending_inventory import PendingInventory
from workers.ingest.pruned_horizons import PrunedHorizons
from workers.ingest.usage_fold import mark_stored, to_record

_Row = TypeVar("_Row")


def _summed(
    groups: list[NDArray[np.int64]], columns: list[Mapping[str, NDArray[np.float64]]], count: int
) -> dict[str, NDArray[np.float64]]:
    """Each row's figures summed over the stretches, in the stretches' order (as the upsert
    adding each stretch in turn would sum them)."""
    if not groups:
        return {}
    where = np.concatenate(groups)
    return {
        name: group_sums(where, np.concatenate([c[name] for c in columns]), count)
        for name in columns[0]
    }


def _latest_rows(
    stretches: Iterable[CostColumns],
    rows_of: Callable[[CostColumns], Sequence[_Row]],
    identity: Callable[[datetime, _Row], Hashable],
) -> tuple[list[datetime], list[_Row], list[NDArray[np.int64]]]:
    """Every row identity of the stretches once, in first-seen order, with its hour and its
    latest row (as the upsert keeps the latest descriptive fields), and per stretch the place
    of each of its rows among them."""
    index: dict[Hashable, int] = {}
    hours: list[datetime] = []
    latest: list[_Row] = []
    groups: list[NDArray[np.int64]] = []
    # Consecutive minutes share most row objects (a cluster's priced inventory is kept), so a
    # row object already placed in its hour is placed again without working out its identity;
    # every row stays alive in the stretches, so an object's id names it for the whole call.
    placed: dict[datetime, dict[int, int]] = {}
    for stretch in stretches:
        rows = rows_of(stretch)
        where = np.empty(len(rows), dtype=np.int64)
        in_hour = placed.setdefault(stretch.hour, {})
        for i, row in enumerate(rows):
            found = in_hour.get(id(row))
            if found is None:
                key = identity(stretch.hour, row)
                found = index.get(key)
                if found is None:
                    found = index[key] = len(latest)
                    hours.append(stretch.hour)
                    latest.append(row)
                in_hour[id(row)] = found
            latest[found] = row
            where[i] = found
        groups.append(where)
    return hours, latest, groups


class _ClusterCosts:
    """One cluster's cost stretches of the batch, summed by row identity at the end."""

    def __init__(self) -> None:
        self.stretches: list[CostColumns] = []
        self.newest: datetime | None = None

    def add(self, hours: Iterable[CostColumns], taken_at: datetime) -> None:
        self.stretches.extend(hours)
        if self.newest is None or taken_at > self.newest:
            self.newest = taken_at

    def containers(self) -> ContainerCostRows:
        """One row per container-hour, its latest descriptive fields (as the upsert keeps them)."""
        hours, latest, groups = _latest_rows(
            self.stretches,
            lambda stretch: stretch.containers,
            # A container-hour row's identity.
            lambda hour, row: (hour, row.namespace, row.pod, row.container, row.node),
        )
        return ContainerCostRows(
            hours=hours,
            namespaces=[row.namespace for row in latest],
            pods=[row.pod for row in latest],
            containers=[row.container for row in latest],
            nodes=[row.node for row in latest],
            workloads=[row.workload for row in latest],
            labels=[row.labels for row in latest],
            sums=_summed(groups, [s.container_sums for s in self.stretches], len(latest)),
        )

    def nodes(self) -> NodeCostRows:
        """One row per node-hour, its latest descriptive fields."""
        hours, latest, groups = _latest_rows(
            self.stretches, lambda stretch: stretch.nodes, lambda hour, row: (hour, row.node)
        )
        return NodeCostRows(
            hours=hours,
            nodes=[row.node for row in latest],
            instance_types=[row.instance_type for row in latest],
            spots=[row.spot for row in latest],
            gpus=[row.gpus for row in latest],
            sums=_summed(groups, [s.node_sums for s in self.stretches], len(latest)),
        )


class PendingWrites:
    """The histories, cost rows, inventories and signals a batch has produced so far (one
    tenant)."""

    def __init__(self) -> None:
        self._histories: dict[uuid.UUID, dict[ContainerKey, tuple[ContainerHistory, datetime]]]
        self._histories = {}
        self.known: dict[uuid.UUID, dict[ContainerKey, ContainerHistory]] = {}
        """Per cluster, every history the batch has read or folded (what it leaves them as)."""
        self.generations: dict[uuid.UUID, int] = {}
        """Per cluster, the usage generation `known` is: as locked, then as the flush wrote."""
        self._costs: dict[uuid.UUID, _ClusterCosts] = {}
        self.inventories: dict[uuid.UUID, CachedInventory | None] = {}
        """Per cluster, the inventory its last applied upload made (None: no longer known)."""
        self.inventory = PendingInventory()
        """The stored inventory rows the batch's applied uploads change."""
        self.locked: dict[uuid.UUID, ClusterIngestState] = {}
        """Per cluster whose row the batch has locked, the row as the batch has left it."""
        self.after_commit: list[Callable[[], Awaitable[None]]] = []
        """What to tell others once the transaction has committed (resync requests, clearings)."""
        self.unrecorded: dict[uuid.UUID, list[UploadIndexRow]] = {}
        """Per cluster, the index rows of the batch's uploads not yet inserted."""
        self.fresh: set[tuple[uuid.UUID, uuid.UUID]] = set()
        """(cluster, upload id) of the batch's uploads inserted and not yet folded."""
        self._ingest_rows: dict[uuid.UUID, dict[str, object]] = {}

    def adopt(
        self,
        cluster_id: uuid.UUID,
        generation: int,
        histories: dict[ContainerKey, ContainerHistory],
    ) -> None:
        """Start the cluster's part of the batch from `histories`, the stored ones of the usage
        generation `generation` (the one in the row the batch locked); once per cluster."""
        if cluster_id not in self.generations:
            self.generations[cluster_id] = generation
            self.known[cluster_id] = histories

    def histories(
        self, cluster_id: uuid.UUID, keys: Iterable[ContainerKey]
    ) -> dict[ContainerKey, ContainerHistory]:
        """The histories of `keys` the batch holds (others are absent: read them, `learn`)."""
        held = self.known.get(cluster_id, {})
        return {key: held[key] for key in keys if key in held}

    def learn(
        self, cluster_id: uuid.UUID, histories: Mapping[ContainerKey, ContainerHistory]
    ) -> None:
        """Hold `histories`, read from their rows, for the rest of the batch."""
        self.known.setdefault(cluster_id, {}).update(histories)

    def forget(self, cluster_id: uuid.UUID, keys: Iterable[ContainerKey]) -> None:
        """Stop holding the histories of `keys` (folded into without a change to write: what
        the fold left in them is not what is stored)."""
        held = self.known.get(cluster_id, {})
        for key in keys:
            held.pop(key, None)

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
        self.learn(cluster_id, changed)

    def change_ingest(self, cluster_id: uuid.UUID, values: dict[str, object]) -> None:
        """Set the cluster's ingest columns in `values` when the batch ends; later changes of a
        column win, as in turn."""
        self._ingest_rows.setdefault(cluster_id, {}).update(values)

    def add_costs(
        self, cluster_id: uuid.UUID, hours: Iterable[CostColumns], taken_at: datetime
    ) -> None:
        """Add an upload's cost lines (taken at `taken_at`) to the batch's sums."""
        self._costs.setdefault(cluster_id, _ClusterCosts()).add(hours, taken_at)

    async def flush(
        self,
        snapshots: SnapshotRepository,
        usage: UsageStateRepository,
        rollups: CostRollupRepository,
        retention: PrunedHorizons,
        inventory: InventoryRepository,
    ) -> None:
        """Write everything held: every cluster's inventory changes (`PendingInventory.write`),
        one statement for every cluster's ingest columns, one upsert of every cluster's usage
        histories and one statement advancing their usage generations, one upsert per cost
        table for every cluster, then forget the cost hours older than the retention before
        each cluster's newest upload (one statement per table), for the clusters whose horizon
        has moved (`PrunedHorizons`)."""
        await self.inventory.write(inventory)
        await snapshots.update_ingest_many(self._ingest_rows)
        self._ingest_rows.clear()
        written = await usage.put_clusters(
            {
                cluster_id: [
                    to_record(key, history, at) for key, (history, at) in sorted(held.items())
                ]
                for cluster_id, held in sorted(self._histories.items())
            }
        )
        for held in self._histories.values():
            for history, _ in held.values():
                mark_stored(history)
        self.generations.update(written)
        await rollups.add_rows(
            [
                ClusterCostRows(cluster_id, costs.containers(), costs.nodes())
                for cluster_id, costs in self._costs.items()
            ]
        )
        horizons = retention.due(
            {
                cluster_id: costs.newest
                for cluster_id, costs in self._costs.items()
                if costs.newest is not None
            }
        )
        await rollups.prune(horizons)
        if horizons:
            self.after_commit.append(partial(retention.pruned, horizons))
        self._histories.clear()
        self._costs.clear()
