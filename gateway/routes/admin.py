"""Administration (scope `admin`): the caller's own tenant, or any tenant for the operator's."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from auth.principal import Principal
from auth.scopes import Role
from auth.tenants import resolve_tenant
from gateway.deps import AdminPrincipal, WiringDep
from gateway.problems import Problem
from gateway.wiring import Wiring
from protocol.snapshot import Provider
from store.errors import NotFoundError
from store.repositories.clusters import ClusterRepository
from store.repositories.tenants import TenantRepository, TenantView
from store.repositories.users import UserRepository

router = APIRouter(prefix="/v1/admin", tags=["admin"])

TenantRef = Annotated[str, Path(min_length=1, max_length=200, description="Tenant name or id")]


class NewTenant(BaseModel):
    """A tenant to create."""

    name: Annotated[str, Field(min_length=1, max_length=200)]


class TenantOut(BaseModel):
    """A tenant."""

    id: uuid.UUID
    name: str
    created_at: datetime


class NewCluster(BaseModel):
    """A cluster to register."""

    name: Annotated[str, Field(min_length=1, max_length=253)]
    provider: Provider = Provider.OTHER
    region: Annotated[str, Field(max_length=64)] | None = None


class ClusterCreated(BaseModel):
    """A new cluster and its clients' credentials: the secrets are shown only here."""

    cluster_id: uuid.UUID
    client_id: str
    client_secret: str
    executor_client_id: str
    executor_client_secret: str


class ClusterOut(BaseModel):
    """A cluster."""

    id: uuid.UUID
    name: str
    provider: str
    region: str | None
    last_snapshot_at: datetime | None


class NewUser(BaseModel):
    """A console user to create; without a password they sign in through the OIDC provider."""

    email: Annotated[str, Field(min_length=3, max_length=320)]
    role: Role
    password: Annotated[str, Field(min_length=12, max_length=256)] | None = None


class UserOut(BaseModel):
    """A console user."""

    id: uuid.UUID
    email: str
    role: str
    has_password: bool
    linked_identity: bool


@router.post("/tenants", status_code=201, response_model=TenantOut)
async def create_tenant(body: NewTenant, principal: AdminPrincipal, wiring: WiringDep) -> TenantOut:
    """Create a tenant (operator tenant's admins only)."""
    if not await _is_operator(wiring, principal):
        raise Problem(
            403, "forbidden", "Only the operator may create tenants", reason="not-operator"
        )
    tenant = await wiring.provisioning.create_tenant(body.name, actor=principal.subject)
    return TenantOut(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


@router.get("/tenants/{tenant}", response_model=TenantOut)
async def get_tenant(tenant: TenantRef, principal: AdminPrincipal, wiring: WiringDep) -> TenantOut:
    """One tenant."""
    found = await _tenant(wiring, principal, tenant)
    return TenantOut(id=found.id, name=found.name, created_at=found.created_at)


@router.post("/tenants/{tenant}/clusters", status_code=201, response_model=ClusterCreated)
async def create_cluster(
    tenant: TenantRef, body: NewCluster, principal: AdminPrincipal, wiring: WiringDep
) -> ClusterCreated:
    """Register a cluster with its agent (`ingest`) and executor (`instructions`) clients."""
    found = await _tenant(wiring, principal, tenant)
    created = await wiring.provisioning.create_cluster(
        found.id, body.name, actor=principal.subject, provider=body.provider, region=body.region
    )
    return ClusterCreated(
        cluster_id=created.cluster.id,
        client_id=created.agent.client.client_id,
        client_secret=created.agent.secret,
        executor_client_id=created.executor.client.client_id,
        executor_client_secret=created.executor.secret,
    )


@router.get("/tenants/{tenant}/clusters", response_model=list[ClusterOut])
async def list_clusters(
    tenant: TenantRef, principal: AdminPrincipal, wiring: WiringDep
) -> list[ClusterOut]:
    """The tenant's clusters."""
    found = await _tenant(wiring, principal, tenant)
    async with wiring.database.tenant(found.id) as session:
        clusters = await ClusterRepository(session, found.id).list()
    return [
        ClusterOut(
            id=c.id,
            name=c.name,
            provider=c.provider,
            region=c.region,
            last_snapshot_at=c.last_snapshot_at,
        )
        for c in clusters
    ]


@router.post("/tenants/{tenant}/users", status_code=201, response_model=UserOut)
async def create_user(
    tenant: TenantRef, body: NewUser, principal: AdminPrincipal, wiring: WiringDep
) -> UserOut:
    """Add a console user."""
    found = await _tenant(wiring, principal, tenant)
    user = await wiring.provisioning.create_user(
        found.id, body.email, body.role.value, actor=principal.subject, password=body.password
    )
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        has_password=user.has_password,
        linked_identity=user.oidc_subject is not None,
    )


@router.get("/tenants/{tenant}/users", response_model=list[UserOut])
async def list_users(
    tenant: TenantRef, principal: AdminPrincipal, wiring: WiringDep
) -> list[UserOut]:
    """The tenant's console users."""
    found = await _tenant(wiring, principal, tenant)
    async with wiring.database.tenant(found.id) as session:
        users = await UserRepository(session, found.id).list()
    return [
        UserOut(
            id=u.id,
            email=u.email,
            role=u.role,
            has_password=u.has_password,
            linked_identity=u.oidc_subject is not None,
        )
        for u in users
    ]


async def _own_tenant(wiring: Wiring, principal: Principal) -> TenantView:
    async with wiring.database.tenant(principal.tenant_id) as session:
        return await TenantRepository(session).current()


async def _is_operator(wiring: Wiring, principal: Principal) -> bool:
    operator = wiring.settings.operator_tenant
    if operator is None:
        return False
    own = await _own_tenant(wiring, principal)
    return operator in {str(own.id), own.name}


async def _tenant(wiring: Wiring, principal: Principal, reference: str) -> TenantView:
    """The tenant named in the path, if the caller may administer it (403 otherwise)."""
    own = await _own_tenant(wiring, principal)
    if reference in {str(own.id), own.name}:
        return own
    if not await _is_operator(wiring, principal):
        raise Problem(
            403, "wrong-tenant", "Token is bound to another tenant", reason="tenant-mismatch"
        )
    try:
        return await resolve_tenant(wiring.database, reference)
    except NotFoundError as e:
        raise Problem(404, "not-found", "No such tenant") from e
