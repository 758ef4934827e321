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
from store.tables import UsageState

# asyncpg binds at most 32,767 parameters per statement; a key binds four.
_KEYS_PER_QUERY = 5000


_KEY_COLUMNS = ("namespace", "workload_kind", "workload_name", "container")
# Rows travel as one array per column (`column_arrays`): every cluster's states in one
# statement, executed once by the server. Keys are unique within a cluster, so no row is
# written twice by the statement.
_UPSERT = text(
    f"""
    INSERT INTO usage_states (cluster_id, namespace, workload_kind, workload_name, container,
                              tenant_id, state, sample_count, first_sample_at, last_sample_at,
                              demand)
    SELECT r.cluster_id, r.namespace, r.workload_kind, r.workload_name, r.container, :tenant,
           r.state, r.sample_count, r.first_sample_at, r.last_sample_at, r.demand
    FROM unnest(CAST(:clusters AS uuid[]), {", ".join(map(unnested_texts, _KEY_COLUMNS))},
                CAST(:states AS bytea[]), CAST(:sample_counts AS bigint[]),
                CAST(:first_samples AS timestamptz[]), CAST(:last_samples AS timestamptz[]),
                CAST(:demands AS bytea[]))
         AS r(cluster_id, namespace, workload_kind, workload_name, container, state,
              sample_count, first_sample_at, last_sample_at, demand)
    ON CONFLICT (cluster_id, namespace, workload_kind, workload_name, container) DO UPDATE
    SET state = EXCLUDED.state, sample_count = EXCLUDED.sample_count,
        first_sample_at = EXCLUDED.first_sample_at, last_sample_at = EXCLUDED.last_sample_at,
        demand = EXCLUDED.demand
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


@dataclass(frozen=True)
class UsageStateRecord:
    """A container's stored state document and its bookkeeping columns."""

    key: ContainerKey
    state: bytes
    sample_count: int
    first_sample_at: datetime
    last_sample_at: datetime
    demand: bytes | None = None
    """The container's demand history, when it has one."""


def _record(row: UsageState) -> UsageStateRecord:
    return UsageStateRecord(
        ContainerKey(row.namespace, row.workload_kind, row.workload_name, row.container),
        bytes(row.state),
        row.sample_count,
        row.first_sample_at,
        row.last_sample_at,
        bytes(row.demand) if row.demand is not None else None,
    )


def _key_tuple(key: ContainerKey) -> tuple[str, str, str, str]:
    return (key.namespace, key.workload_kind, key.workload_name, key.container)


class UsageStateRepository:
    """Read and write the usage states of the session tenant's clusters."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get_many(
        self, cluster_id: uuid.UUID, keys: Iterable[ContainerKey]
    ) -> dict[ContainerKey, UsageStateRecord]:
        """The stored states of `keys`; keys with no state yet are absent."""
        wanted = sorted({_key_tuple(key) for key in keys})
        found: dict[ContainerKey, UsageStateRecord] = {}
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
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
                    ).in_(wanted[start : start + _KEYS_PER_QUERY]),
                )
            )
            for row in rows.scalars():
                record = _record(row)
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
        return [_record(row) for row in rows.scalars()]

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
        """`put_many` for several clusters at once, in two statements: each cluster with
        states to write advanced once, then every state of those clusters upserted. Returns
        the generation each such cluster was advanced to; clusters that are not the tenant's
        are absent and get no rows.
        """
        named = [cluster for cluster, rows in records.items() if rows]
        if not named:
            return {}
        advanced = await self._session.execute(_ADVANCE, {"clusters": named})
        generations = {cluster: int(generation) for cluster, generation in advanced.all()}
        written = [(cluster, records[cluster]) for cluster in named if cluster in generations]
        clusters = [cluster for cluster, rows in written for _ in rows]
        chained = [record for _, rows in written for record in rows]
        if not chained:
            return generations
        keys = [record.key for record in chained]
        await self._session.execute(
            _UPSERT,
            {
                "tenant": self._tenant_id,
                "clusters": clusters,
                "namespace": json_texts([key.namespace for key in keys]),
                "workload_kind": json_texts([key.workload_kind for key in keys]),
                "workload_name": json_texts([key.workload_name for key in keys]),
                "container": json_texts([key.container for key in keys]),
                "states": [record.state for record in chained],
                "sample_counts": [record.sample_count for record in chained],
                "first_samples": [record.first_sample_at for record in chained],
                "last_samples": [record.last_sample_at for record in chained],
                "demands": [record.demand for record in chained],
            },
        )
        return generations
