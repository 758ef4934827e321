"""The cost page: where the money goes, by namespace, workload, node or label, and over time."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from gateway.console.charts import Series, bar_chart, time_chart
from gateway.console.context import ConsoleDep
from gateway.console.cost_report import (
    HOURS_PER_MONTH,
    SORT_KEYS,
    CostQuery,
    CostQueryError,
    SortKey,
    cost_report,
    node_gpu_use,
    parse_label,
    spend_series,
)
from gateway.console.formatting import money_compact, percent
from gateway.console.pages.pager import pager
from gateway.console.pages.render import render
from gateway.console.pages.session import PageUser
from gateway.console.realised import METHOD, realised_savings
from gateway.deps import WiringDep
from store.repositories.console_queries import ConsoleQueries
from store.repositories.cost_rollups import NodeGpuUse, SpendPoint
from store.repositories.idle_gpu_episodes import IdleGpuEpisodeRepository

router = APIRouter(include_in_schema=False)

RANGES = {"1": "24 hours", "7": "7 days", "30": "30 days", "90": "90 days"}
GROUPINGS = {"namespace": "Namespace", "workload": "Workload", "node": "Node", "pod": "Pod"}
BARS = 12
GPU_NODES_CHARTED = 15


def _query(request: Request, now_end: CostQuery) -> tuple[CostQuery, str | None]:
    """The page's query read leniently: unknown values fall back, a bad label is reported."""
    params = request.query_params
    group_by = params.get("group_by", "namespace")
    label_key = params.get("label_key", "").strip()
    if group_by == "label" and label_key:
        group_by = f"label:{label_key}"
    elif group_by not in GROUPINGS:
        group_by = "namespace"
    cluster_id = None
    with contextlib.suppress(ValueError):
        cluster_id = uuid.UUID(params.get("cluster", ""))
    sort = params.get("sort", "total")
    query = CostQuery(
        start=now_end.start,
        end=now_end.end,
        group_by=group_by,
        cluster_id=cluster_id,
        namespace=params.get("namespace", "").strip()[:253] or None,
        sort=next((key for key in SORT_KEYS if key == sort), "total"),
        descending=params.get("order", "desc") != "asc",
        share_idle=params.get("idle") == "share",
    )
    try:
        query = CostQuery(**{**query.__dict__, "label": parse_label(params.get("label"))})
        return query.validate(), None
    except CostQueryError as e:
        return query, str(e)


def _sort_link(request: Request, query: CostQuery, key: SortKey) -> str:
    """The page sorted by `key`, toggling the order when it is already sorted so."""
    params = {k: v for k, v in request.query_params.items() if k not in {"sort", "order", "page"}}
    descending = not (query.sort == key and query.descending)
    params.update(sort=key, order="desc" if descending else "asc")
    return f"{request.url.path}?{urlencode(params)}"


def _spend_chart(points: list[SpendPoint], query: CostQuery) -> Markup:
    series = [(p.hour, p.hourly_run_rate_usd * HOURS_PER_MONTH) for p in points]
    return time_chart(
        [Series("Monthly run rate (hourly)", "spend", series)],
        title="Spend over time",
        start=query.start,
        end=query.end,
        empty_note="No spend measured in this range",
        time_format="%d %b %H:%M" if query.end - query.start <= timedelta(days=2) else "%d %b",
    )


def _gpu_chart(nodes: list[NodeGpuUse]) -> Markup | None:
    gpu_nodes = [n for n in nodes if n.gpus > 0][:GPU_NODES_CHARTED]
    if not gpu_nodes:
        return None
    return bar_chart(
        [(n.node, n.gpu_duty or 0.0) for n in gpu_nodes],
        title="GPU duty cycle per node",
        label=percent,
        maximum=1.0,
    )


@router.get("/console/cost", response_class=HTMLResponse)
async def cost(
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Cards, bars by the chosen grouping, the sortable table, spend over time and GPU nodes."""
    now = wiring.clock()
    days = request.query_params.get("days", "7")
    days = days if days in RANGES else "7"
    window = CostQuery(start=now - timedelta(days=int(days)), end=now)
    query, error = _query(request, window)
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        report = await cost_report(db, tenant_id, query, page=page, size=console.page_size)
        points = await spend_series(db, tenant_id, query)
        nodes = await node_gpu_use(db, tenant_id, query)
        clusters = await ConsoleQueries(db, tenant_id).cluster_names()
        episodes = await IdleGpuEpisodeRepository(db, tenant_id).recent(20)
        realised = await realised_savings(db, tenant_id, now=now)
    top = report.groups if page == 1 else []
    bars = (
        bar_chart(
            [(g.key, g.total_usd) for g in top[:BARS]],
            title=f"Cost by {query.group_by}",
            label=money_compact,
        )
        if top
        else None
    )
    csv_params = {
        k: v
        for k, v in request.query_params.items()
        if k in {"cluster", "namespace", "label", "idle"}
    }
    csv_params.update(
        group_by=query.group_by, start=query.start.isoformat(), end=query.end.isoformat()
    )
    return render(
        console,
        request,
        "cost.html",
        session,
        section="cost",
        query=query,
        error=error,
        report=report,
        days=days,
        ranges=RANGES,
        groupings=GROUPINGS,
        label_key=query.group_by.removeprefix("label:")
        if query.group_by.startswith("label:")
        else "",
        clusters=clusters,
        label_filter=request.query_params.get("label", ""),
        bars=bars,
        spend_chart=_spend_chart(points, query),
        gpu_chart=_gpu_chart(nodes),
        gpu_nodes=[n for n in nodes if n.gpus > 0],
        cpu_nodes=len([n for n in nodes if n.gpus == 0]),
        episodes=episodes,
        realised=realised,
        realised_method=METHOD,
        sort_links={key: _sort_link(request, query, key) for key in SORT_KEYS},
        csv_url=f"/v1/console/cost.csv?{urlencode(csv_params)}",
        pager=pager(request, page=report.page, pages=report.pages, total=report.total_groups),
    )
