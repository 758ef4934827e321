"""Provisioning: tenants found by name or id, clusters with their clients, users, audit."""

from __future__ import annotations

import uuid

import pytest

from auth.errors import InvalidRequestError
from auth.provisioning import Provisioning
from auth.tenants import resolve_tenant
from store.database import Database
from store.errors import NotFoundError
from store.repositories.api_clients import ApiClientRepository
from store.repositories.audit import AuditRepository
from store.repositories.tenants import TenantView


async def test_resolve_tenant_by_name_and_by_id(database: Database, tenant: TenantView) -> None:
    """Both the name and the id (in any case) find the tenant."""
    by_name = await resolve_tenant(database, tenant.name)
    by_id = await resolve_tenant(database, str(tenant.id).upper())
    assert by_name.id == by_id.id == tenant.id


async def test_resolve_unknown_tenant_is_not_found(database: Database) -> None:
    """An unknown reference raises NotFoundError."""
    with pytest.raises(NotFoundError):
        await resolve_tenant(database, f"nobody-{uuid.uuid4().hex[:6]}")


async def test_cluster_comes_with_agent_and_executor_clients(
    provisioning: Provisioning, database: Database, tenant: TenantView
) -> None:
    """Two clients bound to the cluster: `ingest` for the agent, `instructions` for the executor."""
    created = await provisioning.create_cluster(tenant.id, "gpu-farm", actor="test")
    async with database.tenant(tenant.id) as session:
        clients = await ApiClientRepository(session, tenant.id).list(cluster_id=created.cluster.id)
        audit = await AuditRepository(session, tenant.id).list(subject_id=str(created.cluster.id))
    assert {c.client_id: c.scopes for c in clients} == {
        created.agent.client.client_id: ("ingest",),
        created.executor.client.client_id: ("instructions",),
    }
    assert created.agent.client.client_id.startswith("agent-")
    assert len(created.agent.secret) >= 43
    assert [entry.action for entry in audit] == ["cluster.create"]


async def test_client_with_unknown_scope_is_refused(
    provisioning: Provisioning, tenant: TenantView
) -> None:
    """Only the documented scopes can be granted."""
    with pytest.raises(InvalidRequestError):
        await provisioning.create_client(tenant.id, ["ingest", "root"], actor="test")


async def test_client_for_another_tenants_cluster_is_refused(
    provisioning: Provisioning, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A client cannot be bound to a cluster of another tenant."""
    theirs = await provisioning.create_cluster(other_tenant.id, "theirs", actor="test")
    with pytest.raises(NotFoundError):
        await provisioning.create_client(
            tenant.id, ["ingest"], actor="test", cluster_id=theirs.cluster.id
        )


@pytest.mark.parametrize(
    ("email", "role", "password"),
    [
        ("not-an-address", "viewer", None),
        ("a@example.com", "owner", None),
        ("a@example.com", "viewer", "short"),
    ],
    ids=["email", "role", "password"],
)
async def test_invalid_user_is_refused(
    provisioning: Provisioning, tenant: TenantView, email: str, role: str, password: str | None
) -> None:
    """Bad e-mail, unknown role and too-short password are refused before anything is stored."""
    with pytest.raises(InvalidRequestError):
        await provisioning.create_user(tenant.id, email, role, actor="test", password=password)


async def test_user_email_is_stored_lower_case(
    provisioning: Provisioning, tenant: TenantView
) -> None:
    """E-mail addresses are normalised so that sign-in look-ups are unambiguous."""
    user = await provisioning.create_user(
        tenant.id, f"  Mixed.{uuid.uuid4().hex[:6]}@Example.COM ", "viewer", actor="test"
    )
    assert user.email == user.email.strip().lower()
