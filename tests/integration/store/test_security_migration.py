"""Migration 0002_security on a database that already holds rows, and back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.services import ServiceUrls
from store.database import async_url
from store.migrate import alembic_config, upgrade
from store.scratch import create_scratch_database, drop_scratch_database

INITIAL = "0001"

_CONSTRAINTS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid IN ('users'::regclass, 'snapshots'::regclass) AND contype IN ('u', 'p')
"""


@pytest.fixture
async def initial_database(services: ServiceUrls) -> AsyncIterator[URL]:
    """A scratch database at the initial revision with one tenant, cluster, user and snapshot."""
    url = await create_scratch_database(services.database_url, "slicewise_migration")
    try:
        await asyncio.to_thread(upgrade, url, revision=INITIAL)
        await _execute(url, _SEED)
        yield url
    finally:
        await drop_scratch_database(url, services.database_url)


_TENANT, _CLUSTER = uuid.uuid4(), uuid.uuid4()
Statement = tuple[str, dict[str, object]]
_SEED: list[Statement] = [
    ("INSERT INTO tenants (id, name) VALUES (:t, 'acme')", {"t": _TENANT}),
    (
        "INSERT INTO clusters (id, tenant_id, name, provider) VALUES (:c, :t, 'prod', 'aws')",
        {"c": _CLUSTER, "t": _TENANT},
    ),
    (
        "INSERT INTO users (id, tenant_id, email, role) VALUES (:u, :t, 'ops@acme.test', 'admin')",
        {"u": uuid.uuid4(), "t": _TENANT},
    ),
    (
        (
            "INSERT INTO snapshots (snapshot_id, tenant_id, cluster_id, taken_at, received_at,"
            " node_count, pod_count, sample_count) VALUES (:s, :t, :c, now(), now(), 1, 2, 3)"
        ),
        {"s": uuid.uuid4(), "t": _TENANT, "c": _CLUSTER},
    ),
]


async def _execute(url: URL, statements: list[Statement]) -> list[tuple[object, ...]]:
    engine = create_async_engine(async_url(url))
    rows: list[tuple[object, ...]] = []
    try:
        async with engine.begin() as conn:
            for statement, params in statements:
                result = await conn.execute(text(statement), params)
                if result.returns_rows:
                    rows.extend(tuple(row) for row in result)
    finally:
        await engine.dispose()
    return rows


async def _constraints(url: URL) -> dict[str, str]:
    return {
        str(name): str(definition) for name, definition in await _execute(url, [(_CONSTRAINTS, {})])
    }


async def test_upgrade_keeps_rows_and_scopes_the_keys(initial_database: URL) -> None:
    """After the upgrade the rows are there, e-mail is unique per tenant, snapshots per cluster."""
    await asyncio.to_thread(upgrade, initial_database)
    constraints = await _constraints(initial_database)
    counts = await _execute(
        initial_database,
        [("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM snapshots)", {})],
    )
    assert counts == [(1, 1)]
    assert constraints == {
        "uq_users_tenant_id_email": "UNIQUE (tenant_id, email)",
        "users_pkey": "PRIMARY KEY (id)",
        "snapshots_pkey": "PRIMARY KEY (tenant_id, cluster_id, snapshot_id)",
    }


async def test_downgrade_restores_the_initial_keys(initial_database: URL) -> None:
    """Downgrading to the initial revision brings back the global e-mail and snapshot keys."""
    await asyncio.to_thread(upgrade, initial_database)
    await asyncio.to_thread(command.downgrade, alembic_config(initial_database), INITIAL)
    constraints = await _constraints(initial_database)
    assert constraints == {
        "users_email_key": "UNIQUE (email)",
        "users_pkey": "PRIMARY KEY (id)",
        "snapshots_pkey": "PRIMARY KEY (snapshot_id)",
    }
