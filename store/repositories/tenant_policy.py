"""A tenant's policy settings: auto-approved spot evacuations, webhook notifications, when a
GPU counts as idle, and where a cluster's KEDA finds Prometheus for GPU triggers.

They live in the tenant row's `settings` document under fixed keys (the workers read the same
keys), and every change is written together with an audit entry naming who made it and what
changed, in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.audit import AuditRepository
from store.repositories.tenants import TenantRepository

AUTO_SPOT_ALL = "auto_spot"
"""True: every cluster's evacuations are approved by policy."""
AUTO_SPOT_CLUSTERS = "auto_spot_clusters"
"""Ids of the clusters whose evacuations are approved by policy."""
WEBHOOK_URL = "webhook_url"
NOTIFY_MIN_SAVING = "notify_min_saving_usd"
DEFAULT_MIN_SAVING_USD = 500.0
IDLE_GPU_THRESHOLD = "idle_gpu_threshold"
"""Mean duty cycle (a fraction) under which a GPU node's hour is idle."""
IDLE_GPU_HOURS = "idle_gpu_hours"
"""Hours in a row under the threshold before an idle-GPU notice."""
DEFAULT_IDLE_GPU_THRESHOLD = 0.05
DEFAULT_IDLE_GPU_HOURS = 4
MAX_IDLE_GPU_HOURS = 168
PROMETHEUS_SERVER_ADDRESS = "prometheus_server_address"
"""The Prometheus a cluster's KEDA queries for GPU utilisation, tenant-wide."""
PROMETHEUS_SERVER_ADDRESSES = "prometheus_server_addresses"
"""Cluster id -> that cluster's own Prometheus address, over the tenant-wide one."""
MAX_URL_LENGTH = 2048
POLICY_UPDATED = "tenant.policy.updated"


@dataclass(frozen=True)
class TenantPolicy:
    """What a tenant's admins decided."""

    auto_approve_all_clusters: bool = False
    auto_approve_clusters: frozenset[uuid.UUID] = field(default_factory=frozenset)
    webhook_url: str | None = None
    notify_min_saving_usd: float = DEFAULT_MIN_SAVING_USD
    idle_gpu_threshold: float = DEFAULT_IDLE_GPU_THRESHOLD
    idle_gpu_hours: int = DEFAULT_IDLE_GPU_HOURS
    prometheus_server_address: str | None = None
    prometheus_server_addresses: Mapping[uuid.UUID, str] = field(default_factory=dict)

    def prometheus_address_for(self, cluster_id: uuid.UUID) -> str | None:
        """The cluster's own Prometheus address, else the tenant's, else None."""
        return self.prometheus_server_addresses.get(cluster_id) or self.prometheus_server_address

    def auto_approves_evacuation(self, cluster_id: uuid.UUID) -> bool:
        """Whether an evacuation of `cluster_id` is approved without a person."""
        return self.auto_approve_all_clusters or cluster_id in self.auto_approve_clusters


def _cluster_ids(raw: object) -> frozenset[uuid.UUID]:
    found = set()
    for value in raw if isinstance(raw, list) else []:
        try:
            found.add(uuid.UUID(str(value)))
        except ValueError:
            continue
    return frozenset(found)


def idle_gpu_threshold(raw: object) -> float:
    """A stored threshold if it is a fraction strictly between 0 and 1, else the default."""
    if isinstance(raw, int | float) and not isinstance(raw, bool) and 0 < raw < 1:
        return float(raw)
    return DEFAULT_IDLE_GPU_THRESHOLD


def idle_gpu_hours(raw: object) -> int:
    """A stored window if it is a whole number of hours from 1 to a week, else the default."""
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= MAX_IDLE_GPU_HOURS:
        return raw
    return DEFAULT_IDLE_GPU_HOURS


def prometheus_address(raw: object) -> str | None:
    """A stored address if it is an http(s) URL of sensible length, else None."""
    if isinstance(raw, str) and raw.startswith(("http://", "https://")):
        return raw if len(raw) <= MAX_URL_LENGTH else None
    return None


def prometheus_addresses(raw: object) -> dict[uuid.UUID, str]:
    """The stored per-cluster addresses, leaving out entries not a cluster id and a URL."""
    found: dict[uuid.UUID, str] = {}
    for key, value in raw.items() if isinstance(raw, dict) else ():
        address = prometheus_address(value)
        try:
            cluster = uuid.UUID(str(key))
        except ValueError:
            continue
        if address is not None:
            found[cluster] = address
    return found


def policy_from_settings(settings: Mapping[str, Any]) -> TenantPolicy:
    """The policy in a tenant's settings document; anything malformed reads as the default."""
    url = settings.get(WEBHOOK_URL)
    minimum = settings.get(NOTIFY_MIN_SAVING)
    return TenantPolicy(
        auto_approve_all_clusters=settings.get(AUTO_SPOT_ALL) is True,
        auto_approve_clusters=_cluster_ids(settings.get(AUTO_SPOT_CLUSTERS)),
        webhook_url=url if isinstance(url, str) and url else None,
        notify_min_saving_usd=(
            float(minimum)
            if isinstance(minimum, int | float) and not isinstance(minimum, bool)
            else DEFAULT_MIN_SAVING_USD
        ),
        idle_gpu_threshold=idle_gpu_threshold(settings.get(IDLE_GPU_THRESHOLD)),
        idle_gpu_hours=idle_gpu_hours(settings.get(IDLE_GPU_HOURS)),
        prometheus_server_address=prometheus_address(settings.get(PROMETHEUS_SERVER_ADDRESS)),
        prometheus_server_addresses=prometheus_addresses(settings.get(PROMETHEUS_SERVER_ADDRESSES)),
    )


def _settings(policy: TenantPolicy) -> dict[str, Any]:
    return {
        AUTO_SPOT_ALL: policy.auto_approve_all_clusters,
        AUTO_SPOT_CLUSTERS: sorted(str(c) for c in policy.auto_approve_clusters),
        WEBHOOK_URL: policy.webhook_url,
        NOTIFY_MIN_SAVING: policy.notify_min_saving_usd,
        IDLE_GPU_THRESHOLD: policy.idle_gpu_threshold,
        IDLE_GPU_HOURS: policy.idle_gpu_hours,
        PROMETHEUS_SERVER_ADDRESS: policy.prometheus_server_address,
        PROMETHEUS_SERVER_ADDRESSES: {
            str(cluster): address
            for cluster, address in sorted(
                policy.prometheus_server_addresses.items(), key=lambda item: str(item[0])
            )
        },
    }


def redacted_url(url: str | None) -> str | None:
    """Scheme and host of a URL: webhook paths often carry a secret, the audit log must not."""
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def _audited(policy: TenantPolicy) -> dict[str, Any]:
    values = _settings(policy)
    values[WEBHOOK_URL] = redacted_url(policy.webhook_url)
    return values


class TenantPolicyRepository:
    """Read and change the session tenant's policy."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(self) -> TenantPolicy:
        """The current policy."""
        return policy_from_settings((await TenantRepository(self._session).current()).settings)

    async def update(self, changes: Mapping[str, Any], *, actor: str) -> TenantPolicy:
        """Apply `changes` (TenantPolicy field names); audited when anything changed."""
        before = await self.get()
        after = replace(before, **changes)
        if after == before:
            return before
        await TenantRepository(self._session).update_settings(_settings(after))
        old, new = _audited(before), _audited(after)
        await AuditRepository(self._session, self._tenant_id).append(
            actor=actor,
            action=POLICY_UPDATED,
            subject_type="tenant",
            subject_id=str(self._tenant_id),
            details={
                key: {"from": old[key], "to": new[key]} for key in new if old[key] != new[key]
            },
        )
        return after
