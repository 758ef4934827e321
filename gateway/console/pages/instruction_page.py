"""One instruction: what was signed, when it was delivered, and what the executor did."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.context import ConsoleDep
from gateway.console.pages.render import render
from gateway.console.pages.session import PageUser
from gateway.deps import WiringDep
from store.errors import NotFoundError
from store.repositories.console_instructions import InstructionQueries

router = APIRouter(prefix="/console/instructions", include_in_schema=False)


@router.get("/{instruction_id}", response_class=HTMLResponse)
async def instruction(
    instruction_id: uuid.UUID,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
) -> HTMLResponse:
    """The instruction's timeline, each action's outcome and the signed envelope."""
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        try:
            found = await InstructionQueries(db, tenant_id).instruction(instruction_id)
        except NotFoundError:
            return render(
                console, request, "error.html", session, status_code=404,
                title="Not found", message="No such instruction.",
            )  # fmt: skip
    actions = (found.result or {}).get("actions", [])
    return render(
        console,
        request,
        "instruction.html",
        session,
        section="instructions",
        instruction=found,
        actions=actions if isinstance(actions, list) else [],
        envelope=json.dumps(found.envelope, indent=2, sort_keys=True),
    )
