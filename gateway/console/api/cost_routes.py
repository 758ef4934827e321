"""Console API of cost allocation: grouped costs (JSON or CSV), hourly spend, per-node GPU use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.console.api.auth import Reader
from gateway.console.api.cost_schemas import (
    CostGroupOut,
    CostPageOut,
    NodeGpuOut,
    NodeGpuPageOut,
    RealisedSavingOut,
    RealisedSavingsOut,
    SpendPointOut,
    SpendSeriesOut,
)
from gateway.console.cost_params import CostQueryDep
from gateway.console.cost_report import (
    HOURS_PER_MONTH,
    cost_groups,
    cost_report,
    groups_csv,
    node_gpu_use,
    spend_series,
)
from gateway.console.realised import METHOD, realised_savings
from gateway.deps import WiringDep
from store.repositories.console_paging import MAX_PAGE_SIZE

router = APIRouter(prefix="/v1/console/cost", tags=["console"])


@router.get("", response_model=CostPageOut)
async def cost_allocation(
    *,
    principal: Reader,
    wiring: WiringDep,
    query: CostQueryDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> CostPageOut:
    """Cost over a time range grouped by one dimension, with the range's node and idle cost."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        report = await cost_report(session, principal.tenant_id, query, page=page, size=size)
    return CostPageOut(
        start=query.start,
        end=query.end,
        group_by=query.group_by,
        idle_shared=query.share_idle,
        items=[CostGroupOut.of(g, report.found.idle_share(g)) for g in report.groups],
        total=report.total_groups,
        page=report.page,
        size=report.size,
        allocated_usd=round(report.allocated_usd, 2),
        idle_usd=round(report.idle_usd, 2),
        node_cost_usd=round(report.node_cost_usd, 2),
    )


@router.get(".csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def cost_allocation_csv(
    principal: Reader, wiring: WiringDep, query: CostQueryDep
) -> Response:
    """Every group of the query as CSV (a download)."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        found = await cost_groups(session, principal.tenant_id, query)
    stem = "slicewise-cost-" + query.group_by.replace(":", "-").replace("/", "-")
    return Response(
        groups_csv(query, found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )


@router.get("/spend", response_model=SpendSeriesOut)
async def cost_spend(principal: Reader, wiring: WiringDep, query: CostQueryDep) -> SpendSeriesOut:
    """Hourly spend (and idle, for whole clusters) over the range, oldest first."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        points = await spend_series(session, principal.tenant_id, query)
    return SpendSeriesOut(
        start=query.start,
        end=query.end,
        points=[
            SpendPointOut(
                hour=p.hour,
                spend_usd=round(p.total_usd, 4),
                idle_usd=round(p.idle_usd, 4),
                monthly_run_rate_usd=round(p.hourly_run_rate_usd * HOURS_PER_MONTH, 2),
            )
            for p in points
        ],
    )


@router.get("/nodes", response_model=NodeGpuPageOut)
async def cost_nodes(principal: Reader, wiring: WiringDep, query: CostQueryDep) -> NodeGpuPageOut:
    """Per node over the range: cost, idle, GPUs held by pods and GPU duty cycle."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        nodes = await node_gpu_use(session, principal.tenant_id, query)
    return NodeGpuPageOut(start=query.start, end=query.end, items=[NodeGpuOut.of(n) for n in nodes])


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@router.get("/realised", response_model=RealisedSavingsOut)
async def cost_realised(principal: Reader, wiring: WiringDep) -> RealisedSavingsOut:
    """Applied recommendations with their estimate and the saving measured from allocation."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        found = await realised_savings(session, principal.tenant_id, now=wiring.clock())
    return RealisedSavingsOut(
        method=METHOD,
        items=[
            RealisedSavingOut(
                recommendation_id=r.change.recommendation_id,
                cluster_id=r.change.cluster_id,
                title=r.change.title,
                kind=r.change.kind,
                applied_at=r.change.applied_at,
                estimated_monthly_usd=r.change.estimated_monthly_usd,
                measured_monthly_usd=_rounded(r.measured_monthly_usd, 2),
                before_hourly_usd=_rounded(r.before_hourly_usd, 4),
                after_hourly_usd=_rounded(r.after_hourly_usd, 4),
                hours_before=round(r.hours_before, 2),
                hours_after=round(r.hours_after, 2),
            )
            for r in found
        ],
    )
