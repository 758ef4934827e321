"""The index of folded snapshots, which makes ingest idempotent, and the per-cluster ingest lock."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFoundError
from store.repositories.clusters import newest_upload
from store.tables import Cluster, Snapshot


@dataclass(frozen=True)
class SnapshotView:
    """One folded snapshot."""

    snapshot_id: uuid.UUID
    cluster_id: uuid.UUID
    taken_at: datetime
    received_at: datetime
    processed_at: datetime
    node_count: int
    pod_count: int
    sample_count: int


@dataclass(frozen=True)
class ClusterIngestState:
    """What ingest needs to know about a cluster it holds the lock of."""

    cluster_id: uuid.UUID
    last_snapshot_at: datetime | None
    """`taken_at` of the newest snapshot whose inventory was applied."""
    sequence: int | None = None
    """Sequence number of the stored inventory (None until a v2 agent's snapshot)."""
    resync_requested: bool = False
    """A delta did not apply on the stored state; only a full snapshot is applied now."""
    last_snapshot_id: uuid.UUID | None = None
    """The newest upload whose inventory was applied (with `sequence`, names the stored state)."""
    usage_generation: int = 0
    """How many times the cluster's usage states were written (`UsageStateRepository.put_many`,
    `put_clusters`)."""


@dataclass(frozen=True)
class UploadIndexRow:
    """What the index records of one folded snapshot or delta."""

    snapshot_id: uuid.UUID
    taken_at: datetime
    received_at: datetime
    node_count: int
    pod_count: int
    sample_count: int


# The values come from a join with the clusters, so a foreign cluster's rows insert nothing; rows
# go in in the order given, so of an id listed twice for a cluster the first is the one recorded.
_RECORD = text(
    """
    INSERT INTO snapshots (snapshot_id, tenant_id, cluster_id, taken_at, received_at,
                           node_count, pod_count, sample_count)
    SELECT r.snapshot_id, :tenant, c.id, r.taken_at, r.received_at,
           r.node_count, r.pod_count, r.sample_count
    FROM unnest(CAST(:clusters AS uuid[]), CAST(:ids AS uuid[]),
                CAST(:taken AS timestamptz[]), CAST(:received AS timestamptz[]),
                CAST(:nodes AS integer[]), CAST(:pods AS integer[]), CAST(:samples AS integer[]))
             WITH ORDINALITY AS r(cluster_id, snapshot_id, taken_at, received_at, node_count,
                                  pod_count, sample_count, place)
         JOIN clusters AS c ON c.id = r.cluster_id
    ORDER BY r.place
    ON CONFLICT (tenant_id, cluster_id, snapshot_id) DO NOTHING
    RETURNING cluster_id, snapshot_id
    """
)
_INGEST_COLUMNS = {
    "ingest_sequence": "bigint",
    "resync_requested": "boolean",
    "last_snapshot_at": "timestamptz",
    "last_snapshot_id": "uuid",
    "agent_version": "text",
    "provider": "text",
    "region": "text",
}
"""The cluster columns ingest sets (`advanced_values`), with their types as bound arrays."""


def _update_ingest_sql(columns: Sequence[str]) -> TextClause:
    """One statement setting `columns` of several clusters: each cluster's row takes a column's
    value where its flag says it is set, and keeps its own elsewhere."""
    arrays = ", ".join(
        f"CAST(:{name} AS {_INGEST_COLUMNS[name]}[]), CAST(:{name}_set AS boolean[])"
        for name in columns
    )
    fields = ", ".join(f"{name}, {name}_set" for name in columns)
    assignments = ", ".join(
        f"{name} = CASE WHEN v.{name}_set THEN v.{name} ELSE c.{name} END" for name in columns
    )
    return text(
        f"UPDATE clusters AS c SET {assignments} "  # noqa: S608 - column names of _INGEST_COLUMNS only
        f"FROM unnest(CAST(:ids AS uuid[]), {arrays}) AS v(id, {fields}) WHERE c.id = v.id"
    )


def advanced_values(
    cluster: ClusterIngestState,
    sequence: int | None,
    *,
    snapshot_id: uuid.UUID,
    taken_at: datetime,
    agent_version: str | None,
    provider: str | None = None,
    region: str | None = None,
) -> dict[str, object]:
    """The cluster columns an applied upload of `sequence` sets, in one statement with
    `SnapshotRepository.update_ingest_many`: its sequence number (no resync wanted), and the
    upload as the cluster's newest.

    `cluster` is the row as locked: an upload older than its newest never moves the newest
    back (`newest_upload`).
    """
    values: dict[str, object] = {"ingest_sequence": sequence, "resync_requested": False}
    return values | newest_upload(
        cluster.last_snapshot_at,
        snapshot_id=snapshot_id,
        taken_at=taken_at,
        agent_version=agent_version,
        provider=provider,
        region=region,
    )


def _view(row: Snapshot) -> SnapshotView:
    return SnapshotView(
        row.snapshot_id,
        row.cluster_id,
        row.taken_at,
        row.received_at,
        row.processed_at,
        row.node_count,
        row.pod_count,
        row.sample_count,
    )


class SnapshotRepository:
    """Record and read the session tenant's folded snapshots."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def lock_cluster(self, cluster_id: uuid.UUID) -> ClusterIngestState | None:
        """Lock the cluster's row until the transaction ends; None if not the tenant's cluster.

        Messages of one cluster share a partition, but during a rebalance two consumers can
        briefly hold the same message; the row lock makes their transactions take turns.
        """
        return (await self.lock_clusters([cluster_id])).get(cluster_id)

    async def lock_clusters(
        self, cluster_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, ClusterIngestState]:
        """Lock the rows of the tenant's clusters among `cluster_ids` until the transaction ends,
        in one statement, in the order of their ids (so two transactions locking overlapping
        sets take turns instead of deadlocking); ids not the tenant's clusters are absent."""
        if not cluster_ids:
            return {}
        rows = await self._session.execute(
            select(
                Cluster.id,
                Cluster.last_snapshot_at,
                Cluster.ingest_sequence,
                Cluster.resync_requested,
                Cluster.last_snapshot_id,
                Cluster.usage_generation,
            )
            .where(Cluster.id.in_(sorted(cluster_ids)))
            .order_by(Cluster.id)
            .with_for_update()
        )
        return {row[0]: ClusterIngestState(*row) for row in rows}

    async def update_ingest_many(self, values: Mapping[uuid.UUID, Mapping[str, object]]) -> None:
        """Set the ingest columns named in each cluster's `values` (`advanced_values`; columns
        not named keep their value), in one statement whatever the number of clusters; rows of
        clusters not the tenant's are left as they are."""
        changed = {cluster_id: row for cluster_id, row in values.items() if row}
        if not changed:
            return
        columns = [name for name in _INGEST_COLUMNS if any(name in row for row in changed.values())]
        unknown = {name for row in changed.values() for name in row} - _INGEST_COLUMNS.keys()
        if unknown:
            raise ValueError(f"not ingest columns: {sorted(unknown)}")
        parameters: dict[str, list[object]] = {"ids": list(changed)}
        for name in columns:
            parameters[name] = [row.get(name) for row in changed.values()]
            parameters[f"{name}_set"] = [name in row for row in changed.values()]
        await self._session.execute(_update_ingest_sql(columns), parameters)

    async def record(
        self,
        *,
        snapshot_id: uuid.UUID,
        cluster_id: uuid.UUID,
        taken_at: datetime,
        received_at: datetime,
        node_count: int,
        pod_count: int,
        sample_count: int,
    ) -> bool:
        """Insert the snapshot's index row; False if this cluster's snapshot id was folded.

        NotFoundError if the cluster is not the tenant's (as `record_many`).
        """
        row = UploadIndexRow(
            snapshot_id, taken_at, received_at, node_count, pod_count, sample_count
        )
        return snapshot_id in await self.record_many(cluster_id, [row])

    async def record_many(
        self, cluster_id: uuid.UUID, rows: Sequence[UploadIndexRow]
    ) -> set[uuid.UUID]:
        """Insert the index rows of uploads of one cluster in one statement; returns the ids
        inserted (not those of the cluster folded before; of an id listed twice, the first).

        NotFoundError if the cluster is not the tenant's: rows are only inserted for a cluster
        row-level security lets the tenant see, never one another tenant owns.
        """
        fresh = {upload for _, upload in await self.record_clusters({cluster_id: rows})}
        if fresh or not rows:
            return fresh
        if await self._session.scalar(select(Cluster.id).where(Cluster.id == cluster_id)) is None:
            raise NotFoundError(f"cluster {cluster_id} not found")
        return fresh

    async def record_clusters(
        self, rows: Mapping[uuid.UUID, Sequence[UploadIndexRow]]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """Insert the index rows of uploads of several clusters (by cluster) in one statement;
        returns the (cluster, upload id) pairs inserted: not those folded before, not those of a
        cluster that is not the tenant's, and of an id listed twice for a cluster, the first."""
        listed = [(cluster_id, row) for cluster_id, held in rows.items() for row in held]
        if not listed:
            return set()
        inserted = await self._session.execute(
            _RECORD,
            {
                "tenant": self._tenant_id,
                "clusters": [cluster_id for cluster_id, _ in listed],
                "ids": [row.snapshot_id for _, row in listed],
                "taken": [row.taken_at for _, row in listed],
                "received": [row.received_at for _, row in listed],
                "nodes": [row.node_count for _, row in listed],
                "pods": [row.pod_count for _, row in listed],
                "samples": [row.sample_count for _, row in listed],
            },
        )
        return {(cluster_id, upload) for cluster_id, upload in inserted}

    async def get(self, cluster_id: uuid.UUID, snapshot_id: uuid.UUID) -> SnapshotView | None:
        """One folded snapshot of a cluster, or None if unknown (or another tenant's)."""
        row = await self._session.get(Snapshot, (self._tenant_id, cluster_id, snapshot_id))
        return None if row is None else _view(row)

    async def count(self, cluster_id: uuid.UUID) -> int:
        """How many snapshots of the cluster have been folded."""
        total = await self._session.scalar(
            select(func.count()).select_from(Snapshot).where(Snapshot.cluster_id == cluster_id)
        )
        return int(total or 0)

    async def latest(self, cluster_id: uuid.UUID, *, limit: int = 20) -> list[SnapshotView]:
        """The most recently taken snapshots of the cluster, newest first."""
        rows = await self._session.execute(
            select(Snapshot)
            .where(Snapshot.cluster_id == cluster_id)
            .order_by(Snapshot.taken_at.desc())
            .limit(limit)
        )
        return [_view(row) for row in rows.scalars()]
