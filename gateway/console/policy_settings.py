"""Changing a tenant's policy settings: checked, then stored with an audit entry.

The console page and the API both go through `PolicySettings.change`, so the same checks apply
to both: clusters must be the tenant's own, and the webhook URL must reach only public
addresses (see `auth.outbound_urls`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from auth.outbound_urls import OutboundUrlPolicy, UnsafeUrlError
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.tenant_policy import (
    MAX_IDLE_GPU_HOURS,
    TenantPolicy,
    TenantPolicyRepository,
)


class PolicyRefusedError(ValueError):
    """A requested setting is not acceptable; `field` names it, `reason` labels the refusal."""

    def __init__(self, field: str, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class PolicyChange:
    """The settings to change; None leaves a setting as it is."""

    auto_approve_all_clusters: bool | None = None
    auto_approve_clusters: frozenset[uuid.UUID] | None = None
    webhook_url: str | None = None
    """An empty string removes the webhook."""
    notify_min_saving_usd: float | None = None
    idle_gpu_threshold: float | None = None
    """A fraction strictly between 0 and 1."""
    idle_gpu_hours: int | None = None
    """1 to 168."""


@dataclass(frozen=True)
class PolicyView:
    """The policy with the tenant's clusters, for forms and answers."""

    policy: TenantPolicy
    clusters: list[ClusterView]


@dataclass(frozen=True)
class PolicySettings:
    """Reads and changes tenant policies in `database`, checking URLs with `outbound`."""

    database: Database
    outbound: OutboundUrlPolicy

    async def view(self, tenant_id: uuid.UUID) -> PolicyView:
        """The tenant's policy and clusters."""
        async with self.database.tenant(tenant_id) as session:
            policy = await TenantPolicyRepository(session, tenant_id).get()
            clusters = await ClusterRepository(session, tenant_id).list()
        return PolicyView(policy, clusters)

    async def change(self, tenant_id: uuid.UUID, change: PolicyChange, *, actor: str) -> PolicyView:
        """Apply `change` as `actor`; PolicyRefusedError names the first unacceptable field."""
        updates: dict[str, Any] = {}
        if change.webhook_url is not None:
            url = change.webhook_url.strip()
            if url:
                try:
                    await self.outbound.check(url)
                except UnsafeUrlError as e:
                    raise PolicyRefusedError("webhook_url", e.reason, str(e)) from e
            updates["webhook_url"] = url or None
        if change.auto_approve_all_clusters is not None:
            updates["auto_approve_all_clusters"] = change.auto_approve_all_clusters
        if change.notify_min_saving_usd is not None:
            updates["notify_min_saving_usd"] = change.notify_min_saving_usd
        if change.idle_gpu_threshold is not None:
            if not 0 < change.idle_gpu_threshold < 1:
                raise PolicyRefusedError(
                    "idle_gpu_threshold", "out-of-range", "the idle threshold must be 0-100 %"
                )
            updates["idle_gpu_threshold"] = change.idle_gpu_threshold
        if change.idle_gpu_hours is not None:
            if not 1 <= change.idle_gpu_hours <= MAX_IDLE_GPU_HOURS:
                raise PolicyRefusedError(
                    "idle_gpu_hours", "out-of-range", "the idle window must be 1 to 168 hours"
                )
            updates["idle_gpu_hours"] = change.idle_gpu_hours
        async with self.database.tenant(tenant_id) as session:
            clusters = await ClusterRepository(session, tenant_id).list()
            if change.auto_approve_clusters is not None:
                unknown = change.auto_approve_clusters - {c.id for c in clusters}
                if unknown:
                    raise PolicyRefusedError(
                        "auto_approve_clusters",
                        "unknown-cluster",
                        f"not a cluster of this tenant: {', '.join(sorted(map(str, unknown)))}",
                    )
                updates["auto_approve_clusters"] = change.auto_approve_clusters
            policy = await TenantPolicyRepository(session, tenant_id).update(updates, actor=actor)
        return PolicyView(policy, clusters)
