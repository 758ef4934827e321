"""Recommendation pages: the filtered list, one recommendation, and the decision form."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.context import ConsoleDep
from gateway.console.decisions import SigningUnavailableError, UnapplicableRecommendationError
from gateway.console.detail import RecommendationView, load_recommendation
from gateway.console.export import ExportUnavailableError, kustomize_overlay, plain_patches
from gateway.console.listing import KINDS, SORTS, STATUSES
from gateway.console.pages.pager import pager
from gateway.console.pages.render import render
from gateway.console.pages.session import PageSession, PageUser
from gateway.console.security import CSRF_FIELD, secure_headers
from gateway.deps import WiringDep
from gateway.wiring import Wiring
from store.errors import ConflictError, NotFoundError
from store.repositories.console_decisions import Decision
from store.repositories.console_paging import PageRequest
from store.repositories.console_queries import (
    ConsoleQueries,
    RecommendationFilter,
    RecommendationSort,
)

router = APIRouter(prefix="/console/recommendations", include_in_schema=False)

_DONE = {
    "approved": "Approved. The instruction is signed and waiting for the cluster's executor.",
    "rejected": "Rejected.",
    "snoozed": "Snoozed.",
}
_DECISIONS = {"approve": Decision.APPROVE, "reject": Decision.REJECT, "snooze": Decision.SNOOZE}


def _filter(
    *,
    cluster: str | None,
    kind: str | None,
    status: str | None,
    min_saving: str | None,
    q: str | None,
    sort: str | None,
) -> RecommendationFilter:
    # Pages read filters leniently: an unknown value is ignored rather than refused.
    cluster_id = None
    if cluster:
        with contextlib.suppress(ValueError):
            cluster_id = uuid.UUID(cluster)
    saving = None
    if min_saving:
        with contextlib.suppress(ValueError):
            saving = max(float(min_saving), 0.0)
    return RecommendationFilter(
        cluster_id=cluster_id,
        kind=kind if kind in KINDS else None,
        status=status if status in STATUSES else None,
        min_saving_usd=saving,
        search=(q or "").strip()[:200] or None,
        sort=RecommendationSort(sort) if sort in SORTS else RecommendationSort.EXPECTED_DESC,
    )


@router.get("", response_class=HTMLResponse)
async def recommendations(
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The list with filters (cluster, kind, status, minimum saving, text) and sorting."""
    params = request.query_params
    # A first visit shows what needs a decision; an explicit empty status shows everything.
    status = params.get("status", "open")
    criteria = _filter(
        cluster=params.get("cluster"),
        kind=params.get("kind"),
        status=status,
        min_saving=params.get("min_saving"),
        q=params.get("q"),
        sort=params.get("sort"),
    )
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        queries = ConsoleQueries(db, tenant_id)
        found = await queries.recommendations(
            criteria, PageRequest(page, console.page_size), now=wiring.clock()
        )
        clusters = await queries.cluster_names()
    return render(
        console,
        request,
        "recommendations.html",
        session,
        section="recommendations",
        found=found,
        criteria=criteria,
        status=status,
        min_saving=params.get("min_saving", ""),
        clusters=clusters,
        kinds=KINDS,
        statuses=STATUSES,
        sorts=SORTS,
        pager=pager(request, page=found.page, pages=found.pages, total=found.total),
        csv_url=_csv_url(criteria),
    )


def _csv_url(criteria: RecommendationFilter) -> str:
    """The CSV download of the list as filtered and sorted on the page."""
    params = {
        "cluster_id": str(criteria.cluster_id) if criteria.cluster_id else None,
        "kind": criteria.kind,
        "status": criteria.status,
        "min_saving": str(criteria.min_saving_usd) if criteria.min_saving_usd is not None else None,
        "q": criteria.search,
        "sort": criteria.sort.value,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/v1/console/recommendations.csv?{query}"


def _exports(view: RecommendationView) -> dict[str, Any]:
    if view.preview is None:
        return {"overlay": None, "plain": None, "export_error": "not applicable"}
    summary = view.detail.summary
    try:
        overlay = kustomize_overlay(view.preview, recommendation_id=summary.id, title=summary.title)
        plain = plain_patches(view.preview, recommendation_id=summary.id, title=summary.title)
    except ExportUnavailableError as e:
        return {"overlay": None, "plain": None, "export_error": str(e)}
    return {"overlay": overlay, "plain": plain, "export_error": None}


async def _detail_page(
    request: Request,
    session: PageSession,
    console: ConsoleDep,
    wiring: Wiring,
    recommendation_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant_id = session.principal.tenant_id
    try:
        async with wiring.database.tenant(tenant_id) as db:
            view = await load_recommendation(db, tenant_id, recommendation_id, now=wiring.clock())
    except NotFoundError:
        return render(
            console,
            request,
            "error.html",
            session,
            status_code=404,
            title="Not found",
            message="There is no such recommendation.",
        )
    return render(
        console,
        request,
        "recommendation.html",
        session,
        section="recommendations",
        view=view,
        notice=notice,
        error=error,
        status_code=status_code,
        **_exports(view),
    )


@router.get("/{recommendation_id}", response_class=HTMLResponse)
async def recommendation(
    *,
    recommendation_id: uuid.UUID,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    done: str | None = None,
) -> HTMLResponse:
    """One recommendation: evidence charts, the side-by-side diff, decision form and history."""
    return await _detail_page(
        request, session, console, wiring, recommendation_id, notice=_DONE.get(done or "")
    )


@router.post("/{recommendation_id}/decision", response_class=HTMLResponse)
async def decide(
    *,
    recommendation_id: uuid.UUID,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    decision: Annotated[str, Form(max_length=16)],
    comment: Annotated[str, Form(max_length=2000)] = "",
    days: Annotated[int, Form(ge=1, le=365)] = 14,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Carry out the confirmed decision, then show the recommendation again."""
    session.check_csrf(csrf_token)
    session.require_approver()
    chosen = _DECISIONS.get(decision)
    if chosen is None:
        return await _detail_page(
            request, session, console, wiring, recommendation_id,
            error="Unknown decision.", status_code=400,
        )  # fmt: skip
    now = wiring.clock()
    try:
        await console.decisions(wiring).decide(
            tenant_id=session.principal.tenant_id,
            recommendation_id=recommendation_id,
            decision=chosen,
            actor=session.name,
            now=now,
            comment=comment.strip() or None,
            snooze_until=now + timedelta(days=days) if chosen is Decision.SNOOZE else None,
        )
    except (
        ConflictError,
        NotFoundError,
        SigningUnavailableError,
        UnapplicableRecommendationError,
    ) as e:
        return await _detail_page(
            request, session, console, wiring, recommendation_id, error=str(e), status_code=409
        )
    target = f"/console/recommendations/{recommendation_id}?done={chosen.value}"
    return secure_headers(RedirectResponse(target, status_code=303))
