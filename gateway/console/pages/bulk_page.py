"""Bulk approval pages: review the selected recommendations, confirm once, see each outcome."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from gateway.console.bulk_approval import MAX_SELECTED, approve_all, selected
from gateway.console.context import ConsoleDep
from gateway.console.pages.render import render
from gateway.console.pages.session import PageUser
from gateway.console.security import CSRF_FIELD
from gateway.deps import WiringDep

router = APIRouter(prefix="/console/recommendations/bulk", include_in_schema=False)

Ids = Annotated[list[str] | None, Form(max_length=MAX_SELECTED)]
Csrf = Annotated[str, Form(alias=CSRF_FIELD, max_length=128)]


def _ids(raw: list[str] | None) -> list[uuid.UUID]:
    found = []
    for value in (raw or [])[:MAX_SELECTED]:
        with contextlib.suppress(ValueError):
            found.append(uuid.UUID(value))
    return found


@router.post("", response_class=HTMLResponse)
async def review(
    *,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    ids: Ids = None,
    csrf_token: Csrf = "",
) -> HTMLResponse:
    """The selection, its total, and one confirmation button."""
    session.check_csrf(csrf_token)
    session.require_approver()
    chosen = await selected(wiring, session.principal.tenant_id, _ids(ids), now=wiring.clock())
    open_ones = [r for r in chosen if r.status == "open"]
    return render(
        console,
        request,
        "bulk.html",
        session,
        section="recommendations",
        chosen=open_ones,
        skipped=len(chosen) - len(open_ones),
        outcomes=None,
    )


@router.post("/approve", response_class=HTMLResponse)
async def confirm(
    *,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
    ids: Ids = None,
    csrf_token: Csrf = "",
) -> HTMLResponse:
    """Approve every confirmed recommendation and show what became of each."""
    session.check_csrf(csrf_token)
    session.require_approver()
    tenant_id = session.principal.tenant_id
    wanted = _ids(ids)
    chosen = await selected(wiring, tenant_id, wanted, now=wiring.clock())
    outcomes = await approve_all(console, wiring, tenant_id, wanted, actor=session.name)
    titles = {r.id: r.title for r in chosen}
    return render(
        console,
        request,
        "bulk.html",
        session,
        section="recommendations",
        chosen=chosen,
        skipped=0,
        outcomes=[(titles.get(o.recommendation_id, str(o.recommendation_id)), o) for o in outcomes],
    )
