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
from itertools import count, repeat
from operator import attrgetter, is_
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
    where: NDArray[np.int64], columns: list[Mapping[str, NDArray[np.float64]]], count: int
) -> dict[str, NDArray[np.float64]]:
    """Each row's figures summed over the stretches, in the stretches' order (as the upsert
    adding each stretch in turn would sum them); `where` places every stretch's entries."""
    if not columns:
        return {}
    return {
        name: group_sums(where, np.concatenate([c[name] for c in columns]), count)
        for name in columns[0]
    }


class _HourPlaces:
    """The rows of one hour placed so far: each row object's and each identity's place, and
    the hour's last stretch (its rows and their places)."""

    def __init__(self) -> None:
        self.by_id: dict[int, int] = {}
        self.by_identity: dict[Hashable, int] = {}
        self.rows: Sequence[object] = ()
        self.where: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.repeats = False
        """Whether a stretch of the hour has placed two rows at one place."""

    def place(
        self,
        rows: Sequence[_Row],
        identity: Callable[[_Row], Hashable],
        hours: list[datetime],
        latest: list[_Row],
        hour: datetime,
    ) -> NDArray[np.int64]:
        """The places of `rows` (an identity not seen yet takes the next place, in the rows'
        order), each place's latest row in `latest` and a new place's hour in `hours` updated
        as placing the rows one by one leaves them."""
        if not self.by_identity:
            return self._place_first(rows, identity, hours, latest, hour)
        # A row at the position the hour's last stretch held it is at its place, and is the
        # latest row there already (unless a stretch placed two rows at one place).
        shared = min(len(rows), len(self.rows))
        where = np.empty(len(rows), dtype=np.int64)
        where[:shared] = self.where[:shared]
        kept = np.fromiter(map(is_, rows, self.rows), dtype=bool, count=shared)
        changed = [*np.flatnonzero(~kept).tolist(), *range(shared, len(rows))]
        for i in changed:
            row = rows[i]
            found = self.by_id.get(id(row))
            if found is None:
                key = identity(row)
                found = self.by_identity.get(key)
                if found is None:
                    found = self.by_identity[key] = len(latest)
                    hours.append(hour)
                    latest.append(row)
                self.by_id[id(row)] = found
            where[i] = found
            latest[found] = row
        if changed and not self.repeats:
            self.repeats = bool(np.bincount(where).max(initial=0) > 1)
        if self.repeats:
            for i, row in enumerate(rows):
                latest[where[i]] = row
        self.rows, self.where = rows, where
        return where

    def _place_first(
        self,
        rows: Sequence[_Row],
        identity: Callable[[_Row], Hashable],
        hours: list[datetime],
        latest: list[_Row],
        hour: datetime,
    ) -> NDArray[np.int64]:
        """`place` for the hour's first stretch: every identity is new."""
        identities = list(map(identity, rows))
        self.by_identity.update(zip(dict.fromkeys(identities), count(len(latest))))
        places = list(map(self.by_identity.__getitem__, identities))
        self.by_id.update(zip(map(id, rows), places, strict=True))
        hours.extend(repeat(hour, len(self.by_identity)))
        if len(self.by_identity) == len(rows):
            latest.extend(rows)
        else:
            # The dictionary holds the places in order, each with its last row.
            latest.extend(dict(zip(places, rows, strict=True)).values())
            self.repeats = True
        self.rows, self.where = rows, np.array(places, dtype=np.int64)
        return self.where


def _latest_rows(
    stretches: Iterable[CostColumns],
    rows_of: Callable[[CostColumns], Sequence[_Row]],
    identity: Callable[[_Row], Hashable],
) -> tuple[list[datetime], list[_Row], NDArray[np.int64]]:
    """Every row identity of the stretches once (an identity is the hour and `identity` of
    the row), in first-seen order, with its hour and its latest row (as the upsert keeps the
    latest descriptive fields), and the place of every stretch's rows among them, the
    stretches one after the other."""
    hours: list[datetime] = []
    latest: list[_Row] = []
    placed: list[NDArray[np.int64]] = []
    # Consecutive minutes share most row objects (a cluster's priced inventory is kept), so a
    # row object already placed in its hour is placed again without working out its identity;
    # every row stays alive in the stretches, so an object's id names it for the whole call.
    places: dict[datetime, _HourPlaces] = {}
    for stretch in stretches:
        hour = places.get(stretch.hour)
        if hour is None:
            hour = places[stretch.hour] = _HourPlaces()
        placed.append(hour.place(rows_of(stretch), identity, hours, latest, stretch.hour))
    where = np.concatenate(placed) if placed else np.empty(0, dtype=np.int64)
    return hours, latest, where


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
        hours, latest, where = _latest_rows(
            self.stretches,
            attrgetter("containers"),
            # A container-hour row's identity, besides its hour.
            attrgetter("namespace", "pod", "container", "node"),
        )
        return ContainerCostRows(
            hours=hours,
            namespaces=list(map(attrgetter("namespace"), latest)),
            pods=list(map(attrgetter("pod"), latest)),
            containers=list(map(attrgetter("container"), latest)),
            nodes=list(map(attrgetter("node"), latest)),
            workloads=list(map(attrgetter("workload"), latest)),
            labels=list(map(attrgetter("labels"), latest)),
            sums=_summed(where, [s.container_sums for s in self.stretches], len(latest)),
        )

    def nodes(self) -> NodeCostRows:
        """One row per node-hour, its latest descriptive fields."""
        hours, latest, where = _latest_rows(self.stretches, attrgetter("nodes"), attrgetter("node"))
        return NodeCostRows(
            hours=hours,
            nodes=list(map(attrgetter("node"), latest)),
            instance_types=list(map(attrgetter("instance_type"), latest)),
            spots=list(map(attrgetter("spot"), latest)),
            gpus=list(map(attrgetter("gpus"), latest)),
            sums=_summed(where, [s.node_sums for s in self.stretches], len(latest)),
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
