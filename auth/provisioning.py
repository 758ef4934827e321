"""Create tenants, clusters (with their agent and executor clients) and console users."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from auth.errors import InvalidRequestError
from auth.hashing import SecretHasher
from auth.scopes import AGENT_SCOPES, EXECUTOR_SCOPES, KNOWN_SCOPES, Role
from store.database import Database
from store.repositories.api_clients import ApiClientRepository, ApiClientView
from store.repositories.audit import AuditRepository
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.tenants import TenantView, create_tenant
from store.repositories.users import UserRepository, UserView

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256


@dataclass(frozen=True)
class ClientSecret:
    """A newly created client and its secret, shown once."""

    client: ApiClientView
    secret: str


@dataclass(frozen=True)
class ClusterCredentials:
    """A new cluster with the agent's and the executor's credentials."""

    cluster: ClusterView
    agent: ClientSecret
    executor: ClientSecret


def new_client_id(kind: str) -> str:
    """A random client id with a readable prefix (`agent-…`, `executor-…`)."""
    return f"{kind}-{secrets.token_hex(12)}"


def new_client_secret() -> str:
    """A random 256-bit client secret, URL-safe."""
    return secrets.token_urlsafe(32)


class Provisioning:
    """Administrative creation of tenants, clusters, clients and users, each audited."""

    def __init__(self, database: Database, hasher: SecretHasher) -> None:
        self._database = database
        self._hasher = hasher

    async def create_tenant(self, name: str, *, actor: str) -> TenantView:
        """A new tenant."""
        if not 1 <= len(name) <= 200:
            raise InvalidRequestError("a tenant name has 1 to 200 characters")
        tenant = await create_tenant(self._database, name)
        async with self._database.tenant(tenant.id) as session:
            await AuditRepository(session, tenant.id).append(
                actor=actor,
                action="tenant.create",
                subject_type="tenant",
                subject_id=str(tenant.id),
            )
        return tenant

    async def create_cluster(
        self,
        tenant_id: uuid.UUID,
        name: str,
        *,
        actor: str,
        provider: str = "other",
        region: str | None = None,
    ) -> ClusterCredentials:
        """A cluster plus its agent client (`ingest`) and executor client (`instructions`)."""
        if not 1 <= len(name) <= 253:
            raise InvalidRequestError("a cluster name has 1 to 253 characters")
        agent_secret, executor_secret = new_client_secret(), new_client_secret()
        agent_hash = await self._hasher.hash(agent_secret)
        executor_hash = await self._hasher.hash(executor_secret)
        async with self._database.tenant(tenant_id) as session:
            cluster = await ClusterRepository(session, tenant_id).create(
                name, provider=provider, region=region
            )
            clients = ApiClientRepository(session, tenant_id)
            agent = await clients.create(
                new_client_id("agent"),
                secret_hash=agent_hash,
                scopes=sorted(AGENT_SCOPES),
                cluster_id=cluster.id,
                description=f"agent of {name}",
            )
            executor = await clients.create(
                new_client_id("executor"),
                secret_hash=executor_hash,
                scopes=sorted(EXECUTOR_SCOPES),
                cluster_id=cluster.id,
                description=f"executor of {name}",
            )
            await AuditRepository(session, tenant_id).append(
                actor=actor,
                action="cluster.create",
                subject_type="cluster",
                subject_id=str(cluster.id),
                details={"name": name, "clients": [agent.client_id, executor.client_id]},
            )
        return ClusterCredentials(
            cluster, ClientSecret(agent, agent_secret), ClientSecret(executor, executor_secret)
        )

    async def create_client(
        self,
        tenant_id: uuid.UUID,
        scopes: Sequence[str],
        *,
        actor: str,
        cluster_id: uuid.UUID | None = None,
        description: str = "",
    ) -> ClientSecret:
        """An API client with the given scopes (automation, or a replacement agent secret)."""
        unknown = set(scopes) - KNOWN_SCOPES
        if not scopes or unknown:
            raise InvalidRequestError(f"unknown or missing scopes: {sorted(unknown)}")
        secret = new_client_secret()
        secret_hash = await self._hasher.hash(secret)
        async with self._database.tenant(tenant_id) as session:
            if cluster_id is not None:
                await ClusterRepository(session, tenant_id).get(cluster_id)
            client = await ApiClientRepository(session, tenant_id).create(
                new_client_id("client"),
                secret_hash=secret_hash,
                scopes=sorted(set(scopes)),
                cluster_id=cluster_id,
                description=description[:200],
            )
            await AuditRepository(session, tenant_id).append(
                actor=actor,
                action="client.create",
                subject_type="api_client",
                subject_id=client.client_id,
                details={"scopes": list(client.scopes)},
            )
        return ClientSecret(client, secret)

    async def create_user(
        self,
        tenant_id: uuid.UUID,
        email: str,
        role: str,
        *,
        actor: str,
        password: str | None = None,
    ) -> UserView:
        """A console user; without a password they sign in through the OIDC provider."""
        address = normalise_email(email)
        if role not in {r.value for r in Role}:
            raise InvalidRequestError(f"unknown role {role!r}: viewer, approver or admin")
        password_hash = None
        if password is not None:
            if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
                raise InvalidRequestError(
                    f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
                )
            password_hash = await self._hasher.hash(password)
        async with self._database.tenant(tenant_id) as session:
            user = await UserRepository(session, tenant_id).create(
                address, role=role, password_hash=password_hash
            )
            await AuditRepository(session, tenant_id).append(
                actor=actor,
                action="user.create",
                subject_type="user",
                subject_id=str(user.id),
                details={"email": address, "role": role},
            )
        return user


def normalise_email(email: str) -> str:
    """A lower-cased, trimmed e-mail address; InvalidRequestError if it is not one."""
    address = email.strip().lower()
    if len(address) > 320 or not _EMAIL.match(address):
        raise InvalidRequestError("not an e-mail address")
    return address
