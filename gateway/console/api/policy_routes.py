"""Console API: the tenant's policy settings (scope `admin`), read and changed with an audit entry.

`PATCH /v1/console/policy` changes only the fields it is sent. Viewers and approvers hold no
`admin` scope and get 403; a token only ever reaches its own tenant's policy.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from gateway.console.api.auth import CsrfChecked
from gateway.console.context import ConsoleDep
from gateway.console.decisions import actor_name
from gateway.console.policy_settings import PolicyChange, PolicyRefusedError, PolicyView
from gateway.deps import AdminPrincipal, WiringDep
from gateway.problems import InvalidParam, Problem

router = APIRouter(prefix="/v1/console", tags=["console"])

Saving = Annotated[float, Field(ge=0, le=1_000_000_000)]
Address = Annotated[str, Field(max_length=2048)]
ClusterAddresses = Annotated[dict[uuid.UUID, Address], Field(max_length=1000)]


class PolicyOut(BaseModel):
    """A tenant's policy settings."""

    auto_approve_all_clusters: bool
    """Spot evacuations of every cluster are approved at once, without a person."""
    auto_approve_clusters: list[uuid.UUID]
    """Clusters whose spot evacuations are approved at once."""
    webhook_url: str | None
    notify_min_saving_usd: float
    """Recommendations saving less than this a month are not announced on the webhook."""
    idle_gpu_threshold: float
    """A GPU node's hour is idle when its mean duty cycle is under this fraction (0.05 = 5 %)."""
    idle_gpu_hours: int
    """Idle hours in a row before the webhook gets an idle-GPU notice (once per episode)."""
    prometheus_server_address: str | None
    """The Prometheus a cluster's KEDA queries for GPU utilisation (None: the chart default,
    the Prometheus Operator's Service in `monitoring`)."""
    prometheus_server_addresses: dict[uuid.UUID, str]
    """Clusters with their own Prometheus address, over `prometheus_server_address`."""


class PolicyPatch(BaseModel):
    """Settings to change; omitted fields keep their value, `webhook_url: ""` removes it."""

    model_config = ConfigDict(extra="forbid")

    auto_approve_all_clusters: bool | None = None
    auto_approve_clusters: Annotated[list[uuid.UUID], Field(max_length=1000)] | None = None
    webhook_url: Annotated[str, Field(max_length=2048)] | None = None
    notify_min_saving_usd: Saving | None = None
    idle_gpu_threshold: Annotated[float, Field(gt=0, lt=1)] | None = None
    idle_gpu_hours: Annotated[int, Field(ge=1, le=168)] | None = None
    prometheus_server_address: Address | None = None
    """An http(s) URL of a host, no credentials; `""` removes it."""
    prometheus_server_addresses: ClusterAddresses | None = None
    """Replaces every per-cluster address; each cluster must be the tenant's own."""


def _out(view: PolicyView) -> PolicyOut:
    policy = view.policy
    return PolicyOut(
        auto_approve_all_clusters=policy.auto_approve_all_clusters,
        auto_approve_clusters=sorted(policy.auto_approve_clusters, key=str),
        webhook_url=policy.webhook_url,
        notify_min_saving_usd=policy.notify_min_saving_usd,
        idle_gpu_threshold=policy.idle_gpu_threshold,
        idle_gpu_hours=policy.idle_gpu_hours,
        prometheus_server_address=policy.prometheus_server_address,
        prometheus_server_addresses=dict(policy.prometheus_server_addresses),
    )


@router.get("/policy", response_model=PolicyOut)
async def get_policy(
    principal: AdminPrincipal, wiring: WiringDep, console: ConsoleDep
) -> PolicyOut:
    """The caller's tenant's policy settings."""
    return _out(await console.policy_settings(wiring).view(principal.tenant_id))


@router.patch("/policy", response_model=PolicyOut, dependencies=[CsrfChecked])
async def patch_policy(
    body: PolicyPatch, principal: AdminPrincipal, wiring: WiringDep, console: ConsoleDep
) -> PolicyOut:
    """Change the caller's tenant's policy settings; recorded in the audit log."""
    actor = await actor_name(
        wiring.database, principal.tenant_id, principal.user_id, principal.client_id
    )
    change = PolicyChange(
        auto_approve_all_clusters=body.auto_approve_all_clusters,
        auto_approve_clusters=(
            frozenset(body.auto_approve_clusters)
            if body.auto_approve_clusters is not None
            else None
        ),
        webhook_url=body.webhook_url,
        notify_min_saving_usd=body.notify_min_saving_usd,
        idle_gpu_threshold=body.idle_gpu_threshold,
        idle_gpu_hours=body.idle_gpu_hours,
        prometheus_server_address=body.prometheus_server_address,
        prometheus_server_addresses=body.prometheus_server_addresses,
    )
    try:
        view = await console.policy_settings(wiring).change(
            principal.tenant_id, change, actor=actor
        )
    except PolicyRefusedError as e:
        raise Problem(
            422,
            "policy-refused",
            "Setting refused",
            str(e),
            invalid_params=[InvalidParam(name=e.field, reason=e.reason)],
            reason=f"policy-{e.reason}",
        ) from e
    return _out(view)
