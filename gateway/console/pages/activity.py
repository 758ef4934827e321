"""What happened: instructions with their results, and the audit log."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gateway.console.context import ConsoleDep
from gateway.console.pages.pager import pager
from gateway.console.pages.render import render
from gateway.console.pages.session import PageUser
from gateway.deps import WiringDep
from store.repositories.audit import AuditRepository
from store.repositories.console_instructions import InstructionQueries
from store.repositories.console_paging import PageRequest
from store.repositories.console_queries import ConsoleQueries

router = APIRouter(prefix="/console", include_in_schema=False)

INSTRUCTION_STATUSES = ("approved", "completed", "expired")
AUDIT_PAGE = 100


@router.get("/instructions", response_class=HTMLResponse)
async def instructions(
    *,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    cluster: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """Instructions, newest first, with delivery and the executor's outcome."""
    cluster_id = None
    if cluster:
        with contextlib.suppress(ValueError):
            cluster_id = uuid.UUID(cluster)
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        queries = ConsoleQueries(db, tenant_id)
        found = await InstructionQueries(db, tenant_id).instructions(
            PageRequest(page, console.page_size),
            cluster_id=cluster_id,
            status=status if status in INSTRUCTION_STATUSES else None,
        )
        clusters = await queries.cluster_names()
    return render(
        console,
        request,
        "instructions.html",
        session,
        section="instructions",
        now=wiring.clock(),
        found=found,
        clusters=clusters,
        cluster_id=cluster_id,
        status=status or "",
        statuses=INSTRUCTION_STATUSES,
        pager=pager(request, page=found.page, pages=found.pages, total=found.total),
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Every decision and execution, newest first, in pages of a hundred."""
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        entries = await AuditRepository(db, tenant_id).list(limit=AUDIT_PAGE, before_id=before)
    older = entries[-1].id if len(entries) == AUDIT_PAGE else None
    return render(
        console,
        request,
        "audit.html",
        session,
        section="audit",
        entries=entries,
        older=older,
        newest=before is not None,
    )
