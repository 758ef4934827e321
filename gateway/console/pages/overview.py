"""The console's home: spend and savings across every cluster, and the clusters with health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from gateway.console.charts import Series, time_chart
from gateway.console.context import ConsoleDep
from gateway.console.cost_report import measured_spend_points
from gateway.console.pages.pager import pager
from gateway.console.pages.render import render
from gateway.console.pages.session import PageUser
from gateway.console.realised import METHOD, realised_savings, realised_total
from gateway.console.savings import SavingsPoint, savings_series
from gateway.deps import WiringDep
from store.repositories.console_paging import PageRequest
from store.repositories.console_queries import ConsoleQueries
from store.repositories.console_savings import CostPoint, SavingsHistoryQueries

router = APIRouter(include_in_schema=False)

HISTORY = timedelta(days=90)


@router.get("/")
async def root() -> RedirectResponse:
    """The console is the gateway's home page."""
    return RedirectResponse("/console", status_code=303)


def _hourly_spend(measured: list[CostPoint]) -> list[tuple[datetime, float]]:
    """The tenant's monthly run rate at the end of every measured hour (clusters summed)."""
    totals: dict[datetime, float] = {}
    for point in measured:
        totals[point.at] = totals.get(point.at, 0.0) + point.monthly_cost_usd
    return sorted(totals.items())


def _charts(points: list[SavingsPoint], measured: list[CostPoint]) -> tuple[Markup, Markup | None]:
    first, last = points[0].at, points[-1].at
    savings = time_chart(
        [
            Series(
                "Approved (estimated)",
                "estimated",
                [(p.at, p.estimated_monthly_usd) for p in points],
            ),
            Series(
                "Applied (realised)", "realised", [(p.at, p.realised_monthly_usd) for p in points]
            ),
        ],
        title="Monthly savings run-rate",
        empty_note="No savings approved yet: approve a recommendation to start the line",
        start=first,
        end=last,
    )
    # Hour by hour where cost allocation measured it; the analyses' daily prices otherwise.
    hourly = _hourly_spend(measured)
    spend_points = hourly or [
        (p.at, p.monthly_cost_usd) for p in points if p.monthly_cost_usd is not None
    ]
    name = "Monthly spend (measured each hour)" if hourly else "Monthly spend"
    spend = (
        time_chart(
            [Series(name, "spend", spend_points)],
            title="Monthly spend",
            start=first,
            end=last,
        )
        if spend_points
        else None
    )
    return savings, spend


@router.get("/console", response_class=HTMLResponse)
async def overview(
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Totals, the savings chart and one page of clusters."""
    now = wiring.clock()
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        queries = ConsoleQueries(db, tenant_id)
        totals = await queries.totals(now=now)
        clusters = await queries.clusters(PageRequest(page, console.page_size), now=now)
        history = SavingsHistoryQueries(db, tenant_id)
        approvals = await history.approvals(until=now)
        applications = await history.applications(until=now)
        costs = await history.costs(since=now - HISTORY, until=now)
        measured = await measured_spend_points(db, tenant_id, start=now - HISTORY, end=now)
        realised = realised_total(await realised_savings(db, tenant_id, now=now))
    costs += measured
    points = savings_series(approvals, applications, costs, start=now - HISTORY, end=now)
    latest = points[-1]
    savings_chart, spend_chart = _charts(points, measured)
    return render(
        console,
        request,
        "overview.html",
        session,
        section="overview",
        now=now,
        totals=totals,
        clusters=clusters,
        pager=pager(request, page=clusters.page, pages=clusters.pages, total=clusters.total),
        latest=latest,
        savings_chart=savings_chart,
        spend_chart=spend_chart,
        realised=realised,
        realised_method=METHOD,
    )
