"""Demand rings written as chunks to PostgreSQL read back as the histories that wrote them."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from recommender.autoscaling.demand_history import STEPS, pack_demands
from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.tenants import TenantView
from store.repositories.usage_states import UsageStateRecord, UsageStateRepository
from tests.unit.workers.factories import T0
from workers.ingest.usage_fold import from_record, mark_stored, stored_key, to_record

KEY = ContainerKey("shop", "Deployment", "web0", "app")
START = T0.timestamp()
MINUTES_KEPT = STEPS * 5


async def _write(
    database: Database, tenant: TenantView, cluster: ClusterView, history: ContainerHistory
) -> None:
    """Store `history` as the worker does: its record, then it counts as stored."""
    async with database.tenant(tenant.id) as session:
        await UsageStateRepository(session, tenant.id).put_many(
            cluster.id, [to_record(KEY, history, T0)]
        )
    mark_stored(history)


async def _read(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> tuple[UsageStateRecord, UsageStateRecord]:
    """The stored record as `get_many` and as `list` return it."""
    async with database.tenant(tenant.id) as session:
        repository = UsageStateRepository(session, tenant.id)
        found = await repository.get_many(cluster.id, [stored_key(KEY)])
        (listed,) = await repository.list(cluster.id)
    return found[stored_key(KEY)], listed


def _rings(history: ContainerHistory) -> tuple[bytes, bytes]:
    return history.demand.to_bytes(), history.gpu_demand.to_bytes()


def _fold_minute(history: ContainerHistory, minute: int, gpu: bool, usage: float) -> None:
    at = START + 60 * minute
    history.demand.fold([(at, "pod-0", usage), (at, "pod-1", usage / 2)])
    if gpu:
        history.gpu_demand.fold([(at, "gpu-0", usage / 4)])


async def test_a_history_stored_minute_by_minute_reads_back_byte_for_byte(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Minutes folded and stored over more than a ring (skips, wraps, late minutes, a GPU
    ring that starts later, histories read back and folded on) read back from the chunks as
    the folded history, both rings byte for byte, through `get_many` and `list`."""
    rng = np.random.default_rng(7)
    history = ContainerHistory.empty()
    minute = 0
    gaps = [1, 2, 5, 288 * 5, 3 * 288 * 5, MINUTES_KEPT + 11, -40, -MINUTES_KEPT - 5]
    for batch in range(60):
        for _ in range(int(rng.integers(1, 4))):
            minute = max(
                0, minute + int(rng.choice(gaps, p=[0.4, 0.2, 0.2, 0.06, 0.05, 0.03, 0.04, 0.02]))
            )
            _fold_minute(history, minute, gpu=batch >= 20, usage=float(rng.gamma(2.0, 0.5)))
        await _write(database, tenant, cluster, history)
        found, listed = await _read(database, tenant, cluster)
        assert found == listed
        restored = from_record(found)
        assert _rings(restored) == _rings(history)
        if batch % 7 == 0:
            # A worker that did not hold the history reads it back and folds into that.
            history = restored
    assert history.gpu_demand.last_step >= 0


async def test_a_row_holding_whole_rings_reads_them_and_is_next_written_as_chunks(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A row whose `demand` holds the rings whole (written before chunks, over chunks of an
    older history) reads as those rings; its next write stores them as chunks only, the
    older chunks gone, and clears the column."""
    older = ContainerHistory.empty()
    for minute in range(0, MINUTES_KEPT, 7):
        _fold_minute(older, minute, gpu=True, usage=3.0)
    await _write(database, tenant, cluster, older)
    whole = ContainerHistory.empty()
    for minute in range(MINUTES_KEPT, MINUTES_KEPT + 600):
        _fold_minute(whole, minute, gpu=False, usage=1.0)
    async with database.tenant(tenant.id) as session:
        record = to_record(KEY, whole, T0)
        await UsageStateRepository(session, tenant.id).put_many(
            cluster.id,
            [
                UsageStateRecord(
                    record.key,
                    record.state,
                    record.sample_count,
                    record.first_sample_at,
                    record.last_sample_at,
                    demand=pack_demands(whole.demand, whole.gpu_demand),
                )
            ],
        )
    found, _ = await _read(database, tenant, cluster)
    restored = from_record(found)
    assert _rings(restored) == _rings(whole)
    _fold_minute(restored, MINUTES_KEPT + 600, gpu=False, usage=2.0)
    await _write(database, tenant, cluster, restored)
    found, _ = await _read(database, tenant, cluster)
    assert found.demand is None
    assert _rings(from_record(found)) == _rings(restored)
    async with database.tenant(tenant.id) as session:
        rings = await session.scalar(
            text("SELECT array_agg(DISTINCT ring) FROM usage_demand_chunks")
        )
    assert rings == [0]


async def test_demand_chunks_are_invisible_to_other_tenants(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant's session sees none of this tenant's chunks, even unfiltered."""
    history = ContainerHistory.empty()
    _fold_minute(history, 0, gpu=True, usage=1.0)
    await _write(database, tenant, cluster, history)
    async with database.tenant(other_tenant.id) as session:
        theirs = await session.scalar(text("SELECT count(*) FROM usage_demand_chunks"))
    async with database.tenant(tenant.id) as session:
        mine = await session.scalar(text("SELECT count(*) FROM usage_demand_chunks"))
    assert (mine, theirs) == (2, 0)
