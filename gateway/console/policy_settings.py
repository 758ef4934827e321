"""Changing a tenant's policy settings: checked, then stored with an audit entry.

The console page and the API both go through `PolicySettings.change`, so the same checks apply
to both: clusters must be the tenant's own, the webhook URL must reach only public addresses
(see `auth.outbound_urls`), and a Prometheus address must be a plain http(s) URL of a host
(`prometheus_url_refusal`). Slicewise never connects to Prometheus: the address goes into the
KEDA triggers a cluster applies, so it names a host in that cluster's network, which is why
the public-address rule of the webhook does not apply to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from auth.outbound_urls import OutboundUrlPolicy, UnsafeUrlError
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.tenant_policy import (
    MAX_IDLE_GPU_HOURS,
    MAX_URL_LENGTH,
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
    prometheus_server_address: str | None = None
    """Where KEDA queries GPU utilisation, tenant-wide; an empty string removes it."""
    prometheus_server_addresses: Mapping[uuid.UUID, str] | None = None
    """Per-cluster addresses, replacing the stored map; empty values are left out."""


def prometheus_url_refusal(url: str) -> str | None:
    """Why `url` cannot be a Prometheus server address (a refusal label), or None if it can.

    It must be an http(s) URL of a host, with no credentials (they would be written into the
    cluster's ScaledObjects and the audit log), query or fragment.
    """
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        return "malformed"
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return "malformed"
    refusals = [
        ("scheme", parts.scheme not in {"http", "https"}),
        ("malformed", not parts.hostname or not port_ok or bool(parts.query or parts.fragment)),
        ("credentials", parts.username is not None or parts.password is not None),
    ]
    return next((reason for reason, refused in refusals if refused), None)


def _checked_address(field: str, url: str) -> str:
    reason = prometheus_url_refusal(url)
    if reason is not None:
        raise PolicyRefusedError(
            field,
            reason,
            # The URL is not echoed: a refused one may carry a password.
            f"{field}: not a Prometheus address (an http(s) URL of a host, "
            "without credentials, query or fragment)",
        )
    return url


def _checked_updates(change: PolicyChange) -> dict[str, Any]:
    """The changed settings that need no lookup, checked."""
    updates: dict[str, Any] = {}
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
    if change.prometheus_server_address is not None:
        url = change.prometheus_server_address.strip()
        updates["prometheus_server_address"] = (
            _checked_address("prometheus_server_address", url) if url else None
        )
    return updates


def _check_known(field: str, named: Iterable[uuid.UUID], clusters: list[ClusterView]) -> None:
    unknown = set(named) - {c.id for c in clusters}
    if unknown:
        raise PolicyRefusedError(
            field,
            "unknown-cluster",
            f"not a cluster of this tenant: {', '.join(sorted(map(str, unknown)))}",
        )


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
        updates.update(_checked_updates(change))
        per_cluster = {
            cluster: _checked_address("prometheus_server_addresses", url.strip())
            for cluster, url in (change.prometheus_server_addresses or {}).items()
            if url.strip()
        }
        async with self.database.tenant(tenant_id) as session:
            clusters = await ClusterRepository(session, tenant_id).list()
            if change.auto_approve_clusters is not None:
                _check_known("auto_approve_clusters", change.auto_approve_clusters, clusters)
                updates["auto_approve_clusters"] = change.auto_approve_clusters
            if change.prometheus_server_addresses is not None:
                _check_known("prometheus_server_addresses", per_cluster, clusters)
                updates["prometheus_server_addresses"] = per_cluster
            policy = await TenantPolicyRepository(session, tenant_id).update(updates, actor=actor)
        return PolicyView(policy, clusters)
