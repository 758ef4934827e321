"""OAuth2 API clients (agents, executors, automation) of the current tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ConflictError, NotFoundError
from store.tables import ApiClient, Cluster


@dataclass(frozen=True)
class ApiClientView:
    """An API client without its secret hash."""

    client_id: str
    tenant_id: uuid.UUID
    cluster_id: uuid.UUID | None
    scopes: tuple[str, ...]
    description: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class ApiClientCredentials:
    """What the token endpoint needs to authenticate a client: found across tenants by id."""

    client_id: str
    tenant_id: uuid.UUID
    cluster_id: uuid.UUID | None
    secret_hash: str
    scopes: tuple[str, ...]
    revoked_at: datetime | None


def _view(row: ApiClient) -> ApiClientView:
    return ApiClientView(
        row.client_id,
        row.tenant_id,
        row.cluster_id,
        tuple(row.scopes),
        row.description,
        row.created_at,
        row.revoked_at,
    )


class ApiClientRepository:
    """Create, list and revoke the session tenant's API clients."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def create(
        self,
        client_id: str,
        *,
        secret_hash: str,
        scopes: Sequence[str],
        cluster_id: uuid.UUID | None = None,
        description: str = "",
    ) -> ApiClientView:
        """Register a client; the caller hashed the secret and keeps the only plain copy."""
        # Foreign-key checks bypass row-level security: confirm the cluster is this tenant's.
        if cluster_id is not None and await self._session.get(Cluster, cluster_id) is None:
            raise NotFoundError(f"cluster {cluster_id} not found")
        row = ApiClient(
            client_id=client_id,
            tenant_id=self._tenant_id,
            cluster_id=cluster_id,
            secret_hash=secret_hash,
            scopes=list(scopes),
            description=description,
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as e:
            raise ConflictError(f"API client {client_id!r} cannot be created") from e
        await self._session.refresh(row)
        return _view(row)

    async def get(self, client_id: str) -> ApiClientView:
        """One client; NotFoundError if absent or another tenant's."""
        row = await self._session.get(ApiClient, client_id)
        if row is None:
            raise NotFoundError(f"API client {client_id} not found")
        return _view(row)

    async def list(self, *, cluster_id: uuid.UUID | None = None) -> list[ApiClientView]:
        """The tenant's clients (of one cluster if given), oldest first."""
        query = select(ApiClient).order_by(ApiClient.created_at, ApiClient.client_id)
        if cluster_id is not None:
            query = query.where(ApiClient.cluster_id == cluster_id)
        rows = await self._session.execute(query)
        return [_view(row) for row in rows.scalars()]

    async def revoke(self, client_id: str, at: datetime) -> ApiClientView:
        """Stop issuing tokens to a client (tokens already issued run until they expire)."""
        row = await self._session.get(ApiClient, client_id)
        if row is None:
            raise NotFoundError(f"API client {client_id} not found")
        if row.revoked_at is None:
            row.revoked_at = at
            await self._session.flush()
        return _view(row)


async def find_api_client(session: AsyncSession, client_id: str) -> ApiClientCredentials | None:
    """Look a client up by id in any tenant (token endpoint), through the definer function."""
    result = await session.execute(
        text(
            "SELECT client_id, tenant_id, cluster_id, secret_hash, scopes, revoked_at "
            "FROM slicewise_find_api_client(:client_id)"
        ),
        {"client_id": client_id},
    )
    row = result.one_or_none()
    if row is None:
        return None
    return ApiClientCredentials(
        client_id=row.client_id,
        tenant_id=row.tenant_id,
        cluster_id=row.cluster_id,
        secret_hash=row.secret_hash,
        scopes=tuple(row.scopes),
        revoked_at=row.revoked_at,
    )
