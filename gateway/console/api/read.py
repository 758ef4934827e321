"""Console API reads: clusters, recommendations, instructions, savings and the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from gateway.console.api.auth import Reader
from gateway.console.api.schemas import (
    RANKINGS,
    AuditOut,
    AuditPage,
    ClusterOut,
    ClusterPage,
    InstructionOut,
    InstructionPage,
    RecommendationDetailOut,
    RecommendationOut,
    RecommendationPage,
    SavingsOut,
    SavingsPointOut,
    TotalsOut,
)
from gateway.console.cost_report import measured_spend_points
from gateway.console.detail import load_recommendation
from gateway.console.listing import StatusFilter
from gateway.console.savings import savings_series
from gateway.deps import WiringDep
from protocol.recommendation import RecommendationKind
from store.repositories.audit import AuditRepository
from store.repositories.console_instructions import InstructionQueries
from store.repositories.console_paging import MAX_PAGE_SIZE, PageRequest
from store.repositories.console_queries import (
    ConsoleQueries,
    RecommendationFilter,
    RecommendationSort,
)
from store.repositories.console_savings import SavingsHistoryQueries

router = APIRouter(prefix="/v1/console", tags=["console"])

PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


@router.get("/clusters", response_model=ClusterPage)
async def list_clusters(
    principal: Reader, wiring: WiringDep, page: PageNumber = 1, size: PageSize = 50
) -> ClusterPage:
    """Clusters by name with agent health, spend and open savings, plus the tenant's totals."""
    now = wiring.clock()
    async with wiring.database.tenant(principal.tenant_id) as session:
        queries = ConsoleQueries(session, principal.tenant_id)
        clusters = await queries.clusters(PageRequest(page, size), now=now)
        totals = await queries.totals(now=now)
    return ClusterPage(
        items=[ClusterOut.of(c) for c in clusters.items],
        total=clusters.total,
        page=clusters.page,
        size=clusters.size,
        totals=TotalsOut.of(totals),
    )


@router.get("/recommendations", response_model=RecommendationPage)
async def list_recommendations(
    *,
    principal: Reader,
    wiring: WiringDep,
    cluster_id: uuid.UUID | None = None,
    kind: RecommendationKind | None = None,
    status: StatusFilter | None = None,
    min_saving: Annotated[float | None, Query(ge=0, le=1e9)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: RecommendationSort = RecommendationSort.EXPECTED_DESC,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> RecommendationPage:
    """Recommendations filtered by cluster, kind, status, minimum monthly saving and text."""
    criteria = RecommendationFilter(
        cluster_id=cluster_id,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        min_saving_usd=min_saving,
        search=q or None,
        sort=sort,
    )
    async with wiring.database.tenant(principal.tenant_id) as session:
        found = await ConsoleQueries(session, principal.tenant_id).recommendations(
            criteria, PageRequest(page, size), now=wiring.clock()
        )
    return RecommendationPage(
        items=[RecommendationOut.of(item) for item in found.items],
        total=found.total,
        page=found.page,
        size=found.size,
        sort=sort.value,
        ranking=RANKINGS[sort.value],
    )


@router.get("/recommendations/{recommendation_id}", response_model=RecommendationDetailOut)
async def get_recommendation(
    recommendation_id: uuid.UUID, principal: Reader, wiring: WiringDep
) -> RecommendationDetailOut:
    """One recommendation: evidence, risk, saving, the change as a diff, instructions, history."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        view = await load_recommendation(
            session, principal.tenant_id, recommendation_id, now=wiring.clock()
        )
    return RecommendationDetailOut.of(view)


@router.get("/instructions", response_model=InstructionPage)
async def list_instructions(
    *,
    principal: Reader,
    wiring: WiringDep,
    cluster_id: uuid.UUID | None = None,
    recommendation_id: uuid.UUID | None = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> InstructionPage:
    """Instructions, newest first, with the executor's results."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        found = await InstructionQueries(session, principal.tenant_id).instructions(
            PageRequest(page, size),
            cluster_id=cluster_id,
            recommendation_id=recommendation_id,
            status=status,
        )
    return InstructionPage(
        items=[InstructionOut.of(i) for i in found.items],
        total=found.total,
        page=found.page,
        size=found.size,
    )


@router.get("/instructions/{instruction_id}", response_model=InstructionOut)
async def get_instruction(
    instruction_id: uuid.UUID, principal: Reader, wiring: WiringDep
) -> InstructionOut:
    """One instruction with its signed envelope and result."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        found = await InstructionQueries(session, principal.tenant_id).instruction(instruction_id)
    return InstructionOut.of(found)


@router.get("/savings", response_model=SavingsOut)
async def savings(
    principal: Reader, wiring: WiringDep, days: Annotated[int, Query(ge=1, le=730)] = 90
) -> SavingsOut:
    """Daily estimated (approved) and realised (applied) monthly savings, and spend."""
    now = wiring.clock()
    start = now - timedelta(days=days)
    async with wiring.database.tenant(principal.tenant_id) as session:
        history = SavingsHistoryQueries(session, principal.tenant_id)
        approvals = await history.approvals(until=now)
        applications = await history.applications(until=now)
        costs = await history.costs(since=start, until=now)
        costs += await measured_spend_points(session, principal.tenant_id, start=start, end=now)
    points = savings_series(approvals, applications, costs, start=start, end=now)
    return SavingsOut(
        points=[
            SavingsPointOut(
                at=p.at,
                estimated_monthly_usd=round(p.estimated_monthly_usd, 2),
                realised_monthly_usd=round(p.realised_monthly_usd, 2),
                realised_to_date_usd=round(p.realised_to_date_usd, 2),
                monthly_cost_usd=None
                if p.monthly_cost_usd is None
                else round(p.monthly_cost_usd, 2),
            )
            for p in points
        ]
    )


@router.get("/audit", response_model=AuditPage)
async def audit_log(
    principal: Reader,
    wiring: WiringDep,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    subject_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> AuditPage:
    """Every decision and execution, newest first."""
    async with wiring.database.tenant(principal.tenant_id) as session:
        entries = await AuditRepository(session, principal.tenant_id).list(
            limit=limit, before_id=before_id, subject_id=subject_id
        )
    next_before = entries[-1].id if len(entries) == limit else None
    return AuditPage(items=[AuditOut.of(e) for e in entries], next_before_id=next_before)
