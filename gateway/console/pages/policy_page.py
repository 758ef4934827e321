"""The tenant settings page: auto-approved spot evacuations per cluster, the webhook, idle GPUs
and the Prometheus address(es) KEDA's GPU triggers query.

Only admins see and change it; the form goes through the same checks as the API
(`PolicySettings`) and every change lands in the audit log.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.context import Console, ConsoleDep
from gateway.console.pages.render import render
from gateway.console.pages.session import PageForbiddenError, PageSession, PageUser
from gateway.console.policy_settings import PolicyChange, PolicyRefusedError, PolicyView
from gateway.console.security import CSRF_FIELD, secure_headers
from gateway.deps import WiringDep

router = APIRouter(prefix="/console/settings", include_in_schema=False)

SAVED = "saved"


def _require_admin(session: PageSession) -> None:
    if session.role != "admin":
        raise PageForbiddenError


def _page(
    console: Console,
    request: Request,
    session: PageSession,
    view: PolicyView,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        console,
        request,
        "settings.html",
        session,
        section="settings",
        policy=view.policy,
        clusters=view.clusters,
        notice=notice,
        error=error,
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
async def settings_page(
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    done: str | None = None,
) -> HTMLResponse:
    """The tenant's policy settings as a form."""
    _require_admin(session)
    view = await console.policy_settings(wiring).view(session.principal.tenant_id)
    notice = "Settings saved." if done == SAVED else None
    return _page(console, request, session, view, notice=notice)


@router.post("", response_class=HTMLResponse)
async def save_settings(
    *,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    webhook_url: Annotated[str, Form(max_length=2048)] = "",
    notify_min_saving_usd: Annotated[float, Form(ge=0, le=1_000_000_000)] = 0.0,
    idle_gpu_threshold_percent: Annotated[float, Form(gt=0, lt=100)] = 5.0,
    idle_gpu_hours: Annotated[int, Form(ge=1, le=168)] = 4,
    auto_all: Annotated[str, Form(max_length=8)] = "",
    clusters: Annotated[list[uuid.UUID] | None, Form(max_length=1000)] = None,
    prometheus_server_address: Annotated[str, Form(max_length=2048)] = "",
    prometheus_cluster: Annotated[list[uuid.UUID] | None, Form(max_length=1000)] = None,
    prometheus_cluster_address: Annotated[list[str] | None, Form(max_length=1000)] = None,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Store the submitted settings, then show the page again."""
    session.check_csrf(csrf_token)
    _require_admin(session)
    settings = console.policy_settings(wiring)
    tenant_id = session.principal.tenant_id
    change = PolicyChange(
        auto_approve_all_clusters=auto_all == "on",
        auto_approve_clusters=frozenset(clusters or ()),
        webhook_url=webhook_url,
        notify_min_saving_usd=notify_min_saving_usd,
        idle_gpu_threshold=idle_gpu_threshold_percent / 100,
        idle_gpu_hours=idle_gpu_hours,
        prometheus_server_address=prometheus_server_address,
        # Each cluster's field comes after its id, so the two lists pair in order.
        prometheus_server_addresses=dict(
            zip(prometheus_cluster or (), prometheus_cluster_address or (), strict=False)
        ),
    )
    try:
        await settings.change(tenant_id, change, actor=session.name)
    except PolicyRefusedError as e:
        view = await settings.view(tenant_id)
        return _page(console, request, session, view, error=str(e), status_code=422)
    return secure_headers(RedirectResponse(f"/console/settings?done={SAVED}", status_code=303))
