"""API clients: created, listed, revoked and found, each only within its own tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from store.database import Database
from store.errors import ConflictError, NotFoundError
from store.repositories.api_clients import ApiClientRepository, find_api_client
from store.repositories.clusters import ClusterRepository
from store.repositories.tenants import TenantView

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _id() -> str:
    return f"client-{uuid.uuid4().hex[:12]}"


async def test_create_then_get_returns_the_client_without_its_hash(
    database: Database, tenant: TenantView
) -> None:
    """The view carries scopes, cluster and description, never the secret hash."""
    client_id = _id()
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create("c1")
        clients = ApiClientRepository(session, tenant.id)
        await clients.create(
            client_id, secret_hash="h", scopes=["ingest"], cluster_id=cluster.id, description="d"
        )
        view = await clients.get(client_id)
    assert (view.scopes, view.cluster_id, view.description) == (("ingest",), cluster.id, "d")
    assert not hasattr(view, "secret_hash")


async def test_duplicate_client_id_is_a_conflict(database: Database, tenant: TenantView) -> None:
    """Client ids are unique."""
    client_id = _id()
    async with database.tenant(tenant.id) as session:
        await ApiClientRepository(session, tenant.id).create(
            client_id, secret_hash="h", scopes=["ingest"]
        )
    with pytest.raises(ConflictError):
        async with database.tenant(tenant.id) as session:
            await ApiClientRepository(session, tenant.id).create(
                client_id, secret_hash="h", scopes=["ingest"]
            )


async def test_get_of_another_tenants_client_is_not_found(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A tenant cannot read another tenant's client by id."""
    client_id = _id()
    async with database.tenant(other_tenant.id) as session:
        await ApiClientRepository(session, other_tenant.id).create(
            client_id, secret_hash="h", scopes=["ingest"]
        )
    with pytest.raises(NotFoundError):
        async with database.tenant(tenant.id) as session:
            await ApiClientRepository(session, tenant.id).get(client_id)


async def test_list_shows_only_own_clients(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Listing returns the session tenant's clients only."""
    mine, theirs = _id(), _id()
    async with database.tenant(tenant.id) as session:
        await ApiClientRepository(session, tenant.id).create(mine, secret_hash="h", scopes=["a"])
    async with database.tenant(other_tenant.id) as session:
        await ApiClientRepository(session, other_tenant.id).create(
            theirs, secret_hash="h", scopes=["a"]
        )
    async with database.tenant(tenant.id) as session:
        listed = [c.client_id for c in await ApiClientRepository(session, tenant.id).list()]
    assert listed == [mine]


async def test_list_filters_by_cluster(database: Database, tenant: TenantView) -> None:
    """Listing by cluster returns that cluster's clients."""
    first, second = _id(), _id()
    async with database.tenant(tenant.id) as session:
        clusters = ClusterRepository(session, tenant.id)
        c1, c2 = await clusters.create("one"), await clusters.create("two")
        clients = ApiClientRepository(session, tenant.id)
        await clients.create(first, secret_hash="h", scopes=["a"], cluster_id=c1.id)
        await clients.create(second, secret_hash="h", scopes=["a"], cluster_id=c2.id)
        listed = [c.client_id for c in await clients.list(cluster_id=c2.id)]
    assert listed == [second]


async def test_revoke_sets_the_time_once(database: Database, tenant: TenantView) -> None:
    """Revoking twice keeps the first revocation time."""
    client_id = _id()
    async with database.tenant(tenant.id) as session:
        clients = ApiClientRepository(session, tenant.id)
        await clients.create(client_id, secret_hash="h", scopes=["a"])
        await clients.revoke(client_id, NOW)
        again = await clients.revoke(client_id, datetime(2027, 1, 1, tzinfo=UTC))
    assert again.revoked_at == NOW


async def test_revoke_of_another_tenants_client_is_not_found(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A tenant cannot revoke another tenant's client; it stays active."""
    client_id = _id()
    async with database.tenant(other_tenant.id) as session:
        await ApiClientRepository(session, other_tenant.id).create(
            client_id, secret_hash="h", scopes=["a"]
        )
    with pytest.raises(NotFoundError):
        async with database.tenant(tenant.id) as session:
            await ApiClientRepository(session, tenant.id).revoke(client_id, NOW)
    async with database.tenant(other_tenant.id) as session:
        still = await ApiClientRepository(session, other_tenant.id).get(client_id)
    assert still.revoked_at is None


async def test_create_for_another_tenants_cluster_is_refused(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Binding a client to another tenant's cluster fails, although FK checks ignore RLS."""
    async with database.tenant(other_tenant.id) as session:
        theirs = await ClusterRepository(session, other_tenant.id).create("theirs")
    with pytest.raises(NotFoundError):
        async with database.tenant(tenant.id) as session:
            await ApiClientRepository(session, tenant.id).create(
                _id(), secret_hash="h", scopes=["a"], cluster_id=theirs.id
            )


async def test_find_crosses_tenants_only_through_the_definer_function(
    database: Database, tenant: TenantView
) -> None:
    """Without a tenant set the table looks empty, yet the token look-up finds the client."""
    client_id = _id()
    async with database.tenant(tenant.id) as session:
        await ApiClientRepository(session, tenant.id).create(
            client_id, secret_hash="argon", scopes=["ingest"]
        )
    async with database.system() as session:
        found = await find_api_client(session, client_id)
        missing = await find_api_client(session, _id())
        with pytest.raises(NotFoundError):
            await ApiClientRepository(session, tenant.id).get(client_id)
    assert found is not None
    assert (found.tenant_id, found.secret_hash, found.scopes) == (tenant.id, "argon", ("ingest",))
    assert missing is None
