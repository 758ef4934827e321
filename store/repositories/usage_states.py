"""Per-container usage state: one bounded document per (workload, container) of a cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer
from sqlalchemy.schema import Table

from store.tables import Cluster, UsageState

# asyncpg binds at most 32,767 parameters per statement; a key binds four.
_KEYS_PER_QUERY = 5000
# Core statements on the table skip the ORM's per-row bookkeeping on bulk writes.
_TABLE = cast(Table, UsageState.__table__)


def _upsert_statement() -> Insert:
    """Insert states, overwriting the stored state of the same container."""
    statement = insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["cluster_id", "namespace", "workload_kind", "workload_name", "container"],
        set_={
            "state": statement.excluded.state,
            "sample_count": statement.excluded.sample_count,
            "first_sample_at": statement.excluded.first_sample_at,
            "last_sample_at": statement.excluded.last_sample_at,
            "demand": statement.excluded.demand,
        },
    )


# Built once: the `excluded` alias copies the table's columns, which costs about as much as
# executing the statement.
_UPSERT = _upsert_statement()


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
        rows = [
            {
                "cluster_id": cluster_id,
                "namespace": record.key.namespace,
                "workload_kind": record.key.workload_kind,
                "workload_name": record.key.workload_name,
                "container": record.key.container,
                "tenant_id": self._tenant_id,
                "state": record.state,
                "sample_count": record.sample_count,
                "first_sample_at": record.first_sample_at,
                "last_sample_at": record.last_sample_at,
                "demand": record.demand,
            }
            for record in records
        ]
        if not rows:
            return None
        # One statement executed for many parameter sets: compiled once, cached, pipelined.
        await self._session.execute(_UPSERT, rows)
        generation = await self._session.scalar(
            update(Cluster)
            .where(Cluster.id == cluster_id)
            .values(usage_generation=Cluster.usage_generation + 1)
            .returning(Cluster.usage_generation)
        )
        return None if generation is None else int(generation)
