"""Per-container usage state: one bounded document per (workload, container) of a cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from store.repositories.column_arrays import json_texts, unnested_texts
from store.tables import UsageDemandChunk, UsageState

# asyncpg binds at most 32,767 parameters per statement; a key binds four.
_KEYS_PER_QUERY = 5000


_KEY_COLUMNS = ("namespace", "workload_kind", "workload_name", "container")
_KEY_ARRAYS = ", ".join(map(unnested_texts, _KEY_COLUMNS))
# Rows travel as one array per column (`column_arrays`): every cluster's states in one
# statement, executed once by the server. Keys are unique within a cluster, so no row is
# written twice by the statement.
_UPSERT = text(
    f"""
    INSERT INTO usage_states (cluster_id, namespace, workload_kind, workload_name, container,
                              tenant_id, state, sample_count, first_sample_at, last_sample_at,
                              demand, demand_last_step, gpu_demand_last_step)
    SELECT r.cluster_id, r.namespace, r.workload_kind, r.workload_name, r.container, :tenant,
           r.state, r.sample_count, r.first_sample_at, r.last_sample_at, r.demand,
           r.demand_last_step, r.gpu_demand_last_step
    FROM unnest(CAST(:clusters AS uuid[]), {_KEY_ARRAYS},
                CAST(:states AS bytea[]), CAST(:sample_counts AS bigint[]),
                CAST(:first_samples AS timestamptz[]), CAST(:last_samples AS timestamptz[]),
                CAST(:demands AS bytea[]), CAST(:demand_steps AS bigint[]),
                CAST(:gpu_demand_steps AS bigint[]))
         AS r(cluster_id, namespace, workload_kind, workload_name, container, state,
              sample_count, first_sample_at, last_sample_at, demand, demand_last_step,
              gpu_demand_last_step)
    ON CONFLICT (cluster_id, namespace, workload_kind, workload_name, container) DO UPDATE
    SET state = EXCLUDED.state, sample_count = EXCLUDED.sample_count,
        first_sample_at = EXCLUDED.first_sample_at, last_sample_at = EXCLUDED.last_sample_at,
        demand = EXCLUDED.demand, demand_last_step = EXCLUDED.demand_last_step,
        gpu_demand_last_step = EXCLUDED.gpu_demand_last_step
    """  # noqa: S608 - column-name constants only
)
# The chunks of the states whose rings are written whole, removed before those are written.
_DELETE_CHUNKS = text(
    f"""
    DELETE FROM usage_demand_chunks c
    USING unnest(CAST(:clusters AS uuid[]), {_KEY_ARRAYS})
          AS r(cluster_id, namespace, workload_kind, workload_name, container)
    WHERE c.cluster_id = r.cluster_id AND c.namespace = r.namespace
      AND c.workload_kind = r.workload_kind AND c.workload_name = r.workload_name
      AND c.container = r.container
    """  # noqa: S608 - column-name constants only
)
_UPSERT_CHUNKS = text(
    f"""
    INSERT INTO usage_demand_chunks (cluster_id, namespace, workload_kind, workload_name,
                                     container, ring, chunk, tenant_id, data)
    SELECT r.cluster_id, r.namespace, r.workload_kind, r.workload_name, r.container, r.ring,
           r.chunk, :tenant, r.data
    FROM unnest(CAST(:clusters AS uuid[]), {_KEY_ARRAYS}, CAST(:rings AS smallint[]),
                CAST(:chunks AS smallint[]), CAST(:data AS bytea[]))
         AS r(cluster_id, namespace, workload_kind, workload_name, container, ring, chunk, data)
    ON CONFLICT (cluster_id, namespace, workload_kind, workload_name, container, ring, chunk)
    DO UPDATE SET data = EXCLUDED.data
    """  # noqa: S608 - column-name constants only
)
# Each named cluster's counter advanced once; clusters row-level security hides are left out
# (and so get no states).
_ADVANCE = text(
    """
    UPDATE clusters SET usage_generation = usage_generation + 1
    WHERE id = ANY(CAST(:clusters AS uuid[]))
    RETURNING id, usage_generation
    """
)


@dataclass(frozen=True, order=True)
class ContainerKey:
    """Which container of which workload a usage state describes."""

    namespace: str
    workload_kind: str
    workload_name: str
    container: str


@dataclass(frozen=True, order=True)
class DemandChunk:
    """A stored run of slots of one of a container's demand rings."""

    ring: int
    """0: CPU demand, 1: GPU-duty demand."""
    index: int
    """Which run of the ring's slots."""
    data: bytes


@dataclass(frozen=True)
class UsageStateRecord:
    """A container's stored state document and its bookkeeping columns."""

    key: ContainerKey
    state: bytes
    sample_count: int
    first_sample_at: datetime
    last_sample_at: datetime
    demand: bytes | None = None
    """The container's demand rings stored whole, as written before they were chunked (a row
    holding them has no chunks)."""
    demand_steps: tuple[int, int] = (-1, -1)
    """The newest step of the CPU and of the GPU-duty demand ring (-1: none)."""
    demand_chunks: tuple[DemandChunk, ...] = ()
    """Read: the rings' stored chunks that hold anything, by ring and index. Written: the
    chunks to store (the others are left as they are, or removed if `demand_replaced`)."""
    demand_replaced: bool = False
    """Written: whether `demand_chunks` replace every stored chunk of the container."""


def _key_tuple(key: ContainerKey) -> tuple[str, str, str, str]:
    return (key.namespace, key.workload_kind, key.workload_name, key.container)


def _record(row: UsageState, chunks: Mapping[ContainerKey, list[DemandChunk]]) -> UsageStateRecord:
    key = ContainerKey(row.namespace, row.workload_kind, row.workload_name, row.container)
    return UsageStateRecord(
        key,
        bytes(row.state),
        row.sample_count,
        row.first_sample_at,
        row.last_sample_at,
        bytes(row.demand) if row.demand is not None else None,
        (row.demand_last_step, row.gpu_demand_last_step),
        tuple(sorted(chunks.get(key, ()))),
    )


def _key_arrays(keys: Sequence[ContainerKey]) -> dict[str, str]:
    """The key columns as `_KEY_ARRAYS` binds them."""
    return {
        "namespace": json_texts([key.namespace for key in keys]),
        "workload_kind": json_texts([key.workload_kind for key in keys]),
        "workload_name": json_texts([key.workload_name for key in keys]),
        "container": json_texts([key.container for key in keys]),
    }


_CHUNK_COLUMNS = (
    UsageDemandChunk.namespace,
    UsageDemandChunk.workload_kind,
    UsageDemandChunk.workload_name,
    UsageDemandChunk.container,
    UsageDemandChunk.ring,
    UsageDemandChunk.chunk,
    UsageDemandChunk.data,
)


class UsageStateRepository:
    """Read and write the usage states of the session tenant's clusters."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def _chunks(
        self, cluster_id: uuid.UUID, keys: Sequence[tuple[str, str, str, str]] | None
    ) -> dict[ContainerKey, list[DemandChunk]]:
        """The stored demand chunks holding anything of the cluster's `keys` (None: all)."""
        query = select(*_CHUNK_COLUMNS).where(UsageDemandChunk.cluster_id == cluster_id)
        if keys is not None:
            query = query.where(
                tuple_(
                    UsageDemandChunk.namespace,
                    UsageDemandChunk.workload_kind,
                    UsageDemandChunk.workload_name,
                    UsageDemandChunk.container,
                ).in_(keys)
            )
        found: dict[ContainerKey, list[DemandChunk]] = {}
        for namespace, kind, name, container, ring, index, data in await self._session.execute(
            query
        ):
            # A chunk of zeros (slots cleared) reads as the missing chunk it equals.
            if data.count(0) != len(data):
                key = ContainerKey(namespace, kind, name, container)
                found.setdefault(key, []).append(DemandChunk(ring, index, bytes(data)))
        return found

    async def get_many(
        self, cluster_id: uuid.UUID, keys: Iterable[ContainerKey]
    ) -> dict[ContainerKey, UsageStateRecord]:
        """The stored states of `keys`; keys with no state yet are absent."""
        wanted = sorted({_key_tuple(key) for key in keys})
        found: dict[ContainerKey, UsageStateRecord] = {}
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            part = wanted[start : start + _KEYS_PER_QUERY]
            rows = await self._session.execute(
                select(UsageState)
                .options(undefer(UsageState.demand))
                .where(
                    UsageState.cluster_id == cluster_id,
                    tuple_(
                        UsageState.namespace,
                        UsageState.workload_kind,
                        UsageState.workload_name,
                        UsageState.container,
                    ).in_(part),
                )
            )
            states = list(rows.scalars())
            chunks = await self._chunks(cluster_id, part) if states else {}
            for row in states:
                record = _record(row, chunks)
                found[record.key] = record
        return found

    async def list(self, cluster_id: uuid.UUID) -> list[UsageStateRecord]:
        """Every usage state of the cluster, ordered by key."""
        rows = await self._session.execute(
            select(UsageState)
            .options(undefer(UsageState.demand))
            .where(UsageState.cluster_id == cluster_id)
            .order_by(
                UsageState.namespace,
                UsageState.workload_kind,
                UsageState.workload_name,
                UsageState.container,
            )
        )
        states = list(rows.scalars())
        chunks = await self._chunks(cluster_id, None) if states else {}
        return [_record(row, chunks) for row in states]

    async def put_many(
        self, cluster_id: uuid.UUID, records: Sequence[UsageStateRecord]
    ) -> int | None:
        """Insert or overwrite the states of `records`; returns the cluster's usage generation
        this write advanced it to (None when there was nothing to write).

        Every write advances the counter in the same transaction, so a copy of the states
        known to be of generation g is the stored one while the counter still reads g.
        """
        return (await self.put_clusters({cluster_id: records})).get(cluster_id)

    async def put_clusters(
        self, records: Mapping[uuid.UUID, Sequence[UsageStateRecord]]
    ) -> dict[uuid.UUID, int]:
        """`put_many` for several clusters at once, in at most four statements: each cluster
        with states to write advanced once, every state of those clusters upserted, the chunks
        of those whose demand is replaced removed, and every demand chunk upserted. Returns
        the generation each such cluster was advanced to; clusters that are not the tenant's
        are absent and get no rows.
        """
        named = [cluster for cluster, rows in records.items() if rows]
        if not named:
            return {}
        advanced = await self._session.execute(_ADVANCE, {"clusters": named})
        generations = {cluster: int(generation) for cluster, generation in advanced.all()}
        written = [
            (cluster, record)
            for cluster in named
            if cluster in generations
            for record in records[cluster]
        ]
        if written:
            await self._put_states(written)
            await self._put_chunks(written)
        return generations

    async def _put_states(self, written: Sequence[tuple[uuid.UUID, UsageStateRecord]]) -> None:
        """Upsert the rows of `written` (cluster, record) pairs."""
        chained = [record for _, record in written]
        await self._session.execute(
            _UPSERT,
            {
                "tenant": self._tenant_id,
                "clusters": [cluster for cluster, _ in written],
                **_key_arrays([record.key for record in chained]),
                "states": [record.state for record in chained],
                "sample_counts": [record.sample_count for record in chained],
                "first_samples": [record.first_sample_at for record in chained],
                "last_samples": [record.last_sample_at for record in chained],
                "demands": [record.demand for record in chained],
                "demand_steps": [record.demand_steps[0] for record in chained],
                "gpu_demand_steps": [record.demand_steps[1] for record in chained],
            },
        )

    async def _put_chunks(self, written: Sequence[tuple[uuid.UUID, UsageStateRecord]]) -> None:
        """Remove the chunks of the records whose demand is replaced, then upsert every
        record's chunks."""
        replaced = [(cluster, record.key) for cluster, record in written if record.demand_replaced]
        if replaced:
            await self._session.execute(
                _DELETE_CHUNKS,
                {
                    "clusters": [cluster for cluster, _ in replaced],
                    **_key_arrays([key for _, key in replaced]),
                },
            )
        chunks = [
            (cluster, record.key, chunk)
            for cluster, record in written
            for chunk in record.demand_chunks
        ]
        if chunks:
            await self._session.execute(
                _UPSERT_CHUNKS,
                {
                    "tenant": self._tenant_id,
                    "clusters": [cluster for cluster, _, _ in chunks],
                    **_key_arrays([key for _, key, _ in chunks]),
                    "rings": [chunk.ring for _, _, chunk in chunks],
                    "chunks": [chunk.index for _, _, chunk in chunks],
                    "data": [chunk.data for _, _, chunk in chunks],
                },
            )
