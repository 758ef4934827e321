"""Row-level security keeps tenants apart even when the SQL forgets the tenant filter."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from store.database import Database, async_url
from store.repositories.clusters import ClusterRepository, list_all_clusters
from store.repositories.tenants import TenantRepository, TenantView
from store.roles import DEFAULT_APP_ROLE, app_url
from store.tables import TENANT_OWNED_TABLES


async def test_unfiltered_select_sees_only_own_clusters(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A bare SELECT with no WHERE returns only the session tenant's clusters."""
    async with database.tenant(tenant.id) as session:
        await ClusterRepository(session, tenant.id).create("mine")
    async with database.tenant(other_tenant.id) as session:
        await ClusterRepository(session, other_tenant.id).create("theirs")
    async with database.tenant(tenant.id) as session:
        names = (await session.execute(text("SELECT name FROM clusters"))).scalars().all()
    assert names == ["mine"]


async def test_insert_for_another_tenant_is_refused(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Writing a row that names another tenant violates the policy's WITH CHECK."""
    with pytest.raises(DBAPIError, match="row-level security"):
        async with database.tenant(tenant.id) as session:
            await session.execute(
                text("INSERT INTO clusters (id, tenant_id, name) VALUES (:id, :t, 'sneaky')"),
                {"id": uuid.uuid4(), "t": other_tenant.id},
            )


async def test_demand_chunk_for_another_tenant_is_refused(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A demand chunk row naming another tenant violates the chunks table's WITH CHECK."""
    async with database.tenant(other_tenant.id) as session:
        theirs = await ClusterRepository(session, other_tenant.id).create("theirs")
    with pytest.raises(DBAPIError, match="row-level security"):
        async with database.tenant(tenant.id) as session:
            await session.execute(
                text(
                    "INSERT INTO usage_demand_chunks (cluster_id, namespace, workload_kind,"
                    " workload_name, container, ring, chunk, tenant_id, data)"
                    " VALUES (:c, 'ns', 'Deployment', 'web', 'app', 0, 0, :t, '')"
                ),
                {"c": theirs.id, "t": other_tenant.id},
            )


async def test_unfiltered_update_cannot_touch_other_tenant(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """An UPDATE without a WHERE clause changes only the session tenant's rows."""
    async with database.tenant(other_tenant.id) as session:
        theirs = await ClusterRepository(session, other_tenant.id).create("theirs")
    async with database.tenant(tenant.id) as session:
        await session.execute(text("UPDATE clusters SET region = 'hijacked'"))
        await session.execute(text("DELETE FROM clusters"))
    async with database.tenant(other_tenant.id) as session:
        still = await ClusterRepository(session, other_tenant.id).get(theirs.id)
    assert still.region is None


async def test_no_tenant_set_sees_nothing(database: Database, tenant: TenantView) -> None:
    """Without app.tenant_id every tenant-owned table looks empty."""
    async with database.tenant(tenant.id) as session:
        await ClusterRepository(session, tenant.id).create("hidden")
    async with database.system() as session:
        for table in ("tenants", *TENANT_OWNED_TABLES):
            count = await session.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed names
            assert count == 0, table


async def test_tenant_row_visible_only_to_itself(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """The tenants table itself is guarded: a tenant reads its own row only."""
    async with database.tenant(tenant.id) as session:
        rows = (await session.execute(text("SELECT id FROM tenants"))).scalars().all()
        current = await TenantRepository(session).current()
    assert rows == [tenant.id]
    assert current.name == tenant.name


async def test_app_role_cannot_disable_security(
    owner_database_url: URL, database: Database, tenant: TenantView
) -> None:
    """The application role can neither turn RLS off nor bypass it."""
    engine = create_async_engine(async_url(app_url(owner_database_url, DEFAULT_APP_ROLE)))
    try:
        async with engine.connect() as conn:
            bypass = await conn.scalar(
                text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")
            )
            assert bypass is False
            with pytest.raises(DBAPIError, match="must be owner"):
                await conn.execute(text("ALTER TABLE clusters DISABLE ROW LEVEL SECURITY"))
    finally:
        await engine.dispose()


async def test_cross_tenant_listing_goes_through_definer_function(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Periodic scheduling sees every tenant's clusters only through slicewise_list_clusters."""
    async with database.tenant(tenant.id) as session:
        a = await ClusterRepository(session, tenant.id).create("a")
    async with database.tenant(other_tenant.id) as session:
        b = await ClusterRepository(session, other_tenant.id).create("b")
    async with database.system() as session:
        pairs = await list_all_clusters(session)
    assert (tenant.id, a.id) in pairs
    assert (other_tenant.id, b.id) in pairs
