"""Migration 0016_demand_chunks over whole demand rings and chunked ones, and back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.services import ServiceUrls
from recommender.autoscaling.demand_history import DemandHistory, pack_demands
from store.database import async_url
from store.migrate import alembic_config, upgrade
from store.scratch import create_scratch_database, drop_scratch_database

BEFORE = "0015_ingest_storage"
AFTER = "0016_demand_chunks"
_TENANT, _CLUSTER = uuid.uuid4(), uuid.uuid4()
_STATE = (
    "INSERT INTO usage_states (cluster_id, namespace, workload_kind, workload_name, container,"
    " tenant_id, state, sample_count, first_sample_at, last_sample_at, demand)"
    " VALUES (:c, 'shop', 'Deployment', :name, 'app', :t, 'state', 1, now(), now(), :demand)"
)
_DEMAND = "SELECT workload_name, demand FROM usage_states ORDER BY workload_name"
_SECURITY = (
    "SELECT relrowsecurity, relforcerowsecurity, reloptions FROM pg_class"
    " WHERE relname = 'usage_demand_chunks'"
)


def _history(start_minute: int, minutes: int, usage: float) -> DemandHistory:
    history = DemandHistory()
    start = 1_700_438_400.0 + 60 * start_minute
    history.fold([(start + 60 * m, "pod", usage) for m in range(minutes)])
    return history


CPU, GPU = _history(0, 3 * 24 * 60, 1.5), _history(600, 300, 0.25)
WHOLE = pack_demands(_history(0, 90, 2.0), DemandHistory())


async def _execute(url: URL, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.fixture
async def database_before(services: ServiceUrls) -> AsyncIterator[URL]:
    """A scratch database at 0015 with a usage state holding its demand rings whole."""
    url = await create_scratch_database(services.database_url, "slicewise_chunks_migration")
    try:
        await asyncio.to_thread(upgrade, url, revision=BEFORE)
        await _execute(url, "INSERT INTO tenants (id, name) VALUES (:t, 'acme')", t=_TENANT)
        await _execute(
            url,
            "INSERT INTO clusters (id, tenant_id, name) VALUES (:c, :t, 'prod')",
            c=_CLUSTER,
            t=_TENANT,
        )
        await _execute(url, _STATE, c=_CLUSTER, t=_TENANT, name="legacy", demand=WHOLE)
        yield url
    finally:
        await drop_scratch_database(url, services.database_url)


async def _store_chunked(url: URL) -> None:
    """A usage state written after the upgrade: its rings' newest steps and chunks."""
    await _execute(url, _STATE, c=_CLUSTER, t=_TENANT, name="chunked", demand=None)
    await _execute(
        url,
        "UPDATE usage_states SET demand_last_step = :cpu, gpu_demand_last_step = :gpu"
        " WHERE workload_name = 'chunked'",
        cpu=CPU.last_step,
        gpu=GPU.last_step,
    )
    for ring, history in enumerate((CPU, GPU)):
        for index in history.data_chunks():
            await _execute(
                url,
                "INSERT INTO usage_demand_chunks (cluster_id, namespace, workload_kind,"
                " workload_name, container, ring, chunk, tenant_id, data) VALUES"
                " (:c, 'shop', 'Deployment', 'chunked', 'app', :ring, :index, :t, :data)",
                c=_CLUSTER,
                t=_TENANT,
                ring=ring,
                index=index,
                data=history.chunk(index),
            )


async def test_upgrade_keeps_whole_rings_and_guards_the_chunks(database_before: URL) -> None:
    """After the upgrade the whole rings are as they were with no newest steps of chunks, and
    the chunks table is under forced tenant isolation with room left on its pages."""
    await asyncio.to_thread(upgrade, database_before, revision=AFTER)
    rows = await _execute(
        database_before,
        "SELECT demand, demand_last_step, gpu_demand_last_step FROM usage_states",
    )
    assert rows == [(WHOLE, -1, -1)]
    assert await _execute(database_before, _SECURITY) == [(True, True, ["fillfactor=70"])]


async def test_downgrade_puts_the_chunked_rings_back_whole(database_before: URL) -> None:
    """Downgrading writes each chunked state's rings into its `demand` column as they were
    stored whole, leaves whole ones alone, and drops the chunks and the steps."""
    await asyncio.to_thread(upgrade, database_before, revision=AFTER)
    await _store_chunked(database_before)
    await asyncio.to_thread(command.downgrade, alembic_config(database_before), BEFORE)
    assert await _execute(database_before, _DEMAND) == [
        ("chunked", pack_demands(CPU, GPU)),
        ("legacy", WHOLE),
    ]
    assert await _execute(database_before, _SECURITY) == []
    columns = await _execute(
        database_before,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'usage_states' AND column_name LIKE '%demand_last_step'",
    )
    assert columns == []
