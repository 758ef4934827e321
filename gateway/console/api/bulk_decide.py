"""Console API: approve several recommendations in one call (role `approver`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.console.api.auth import Approver, CsrfChecked
from gateway.console.bulk_approval import MAX_SELECTED, approve_all
from gateway.console.context import ConsoleDep
from gateway.deps import WiringDep

router = APIRouter(prefix="/v1/console", tags=["console"], dependencies=[CsrfChecked])


class BulkApproveIn(BaseModel):
    """The recommendations to approve, and one comment for all."""

    ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_SELECTED)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class BulkOutcomeOut(BaseModel):
    """One recommendation's outcome."""

    recommendation_id: uuid.UUID
    approved: bool
    instruction_id: uuid.UUID | None
    error: str | None


class BulkApproveOut(BaseModel):
    """Every outcome, in the order asked."""

    approved: int
    items: list[BulkOutcomeOut]


@router.post("/recommendations/approve", response_model=BulkApproveOut)
async def approve_many(
    body: BulkApproveIn, caller: Approver, wiring: WiringDep, console: ConsoleDep
) -> BulkApproveOut:
    """Approve each recommendation as if alone; failures are reported, not fatal."""
    principal, actor = caller
    outcomes = await approve_all(
        console, wiring, principal.tenant_id, body.ids, actor=actor, comment=body.comment or None
    )
    return BulkApproveOut(
        approved=sum(o.approved for o in outcomes),
        items=[
            BulkOutcomeOut(
                recommendation_id=o.recommendation_id,
                approved=o.approved,
                instruction_id=o.instruction_id,
                error=o.error,
            )
            for o in outcomes
        ],
    )
