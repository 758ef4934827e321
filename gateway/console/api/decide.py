"""Console API decisions: approve, reject or snooze a recommendation (role `approver`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi import APIRouter

from gateway.console.api.auth import Approver, CsrfChecked
from gateway.console.api.schemas import DecisionIn, DecisionOut, SnoozeIn
from gateway.console.context import ConsoleDep
from gateway.console.decisions import (
    DecisionResult,
    SigningUnavailableError,
    UnapplicableRecommendationError,
)
from gateway.deps import WiringDep
from gateway.problems import Problem
from store.repositories.console_decisions import Decision

router = APIRouter(prefix="/v1/console", tags=["console"], dependencies=[CsrfChecked])


async def _decide(
    *,
    wiring: WiringDep,
    console: ConsoleDep,
    caller: Approver,
    recommendation_id: uuid.UUID,
    decision: Decision,
    comment: str | None,
    snooze_until: datetime | None = None,
) -> DecisionOut:
    principal, actor = caller
    try:
        result = await console.decisions(wiring).decide(
            tenant_id=principal.tenant_id,
            recommendation_id=recommendation_id,
            decision=decision,
            actor=actor,
            now=wiring.clock(),
            comment=comment or None,
            snooze_until=snooze_until,
        )
    except SigningUnavailableError as e:
        raise Problem(
            503, "signing-unavailable", "Instructions cannot be signed", str(e), reason="no-signer"
        ) from e
    except UnapplicableRecommendationError as e:
        raise Problem(422, "unapplicable", "Recommendation cannot be applied", str(e)) from e
    return _out(result)


def _out(result: DecisionResult) -> DecisionOut:
    decided, instruction = result.recommendation, result.instruction
    return DecisionOut(
        recommendation_id=decided.id,
        status=decided.status,
        decided_by=decided.decided_by,
        decided_at=decided.decided_at,
        snoozed_until=decided.snoozed_until,
        instruction_id=None if instruction is None else instruction.id,
        instruction_expires_at=None if instruction is None else instruction.expires_at,
    )


@router.post("/recommendations/{recommendation_id}/approve", response_model=DecisionOut)
async def approve(
    recommendation_id: uuid.UUID,
    body: DecisionIn,
    caller: Approver,
    wiring: WiringDep,
    console: ConsoleDep,
) -> DecisionOut:
    """Approve: sign the instruction and wake the cluster's executor (409 if already decided)."""
    return await _decide(
        wiring=wiring,
        console=console,
        caller=caller,
        recommendation_id=recommendation_id,
        decision=Decision.APPROVE,
        comment=body.comment,
    )


@router.post("/recommendations/{recommendation_id}/reject", response_model=DecisionOut)
async def reject(
    recommendation_id: uuid.UUID,
    body: DecisionIn,
    caller: Approver,
    wiring: WiringDep,
    console: ConsoleDep,
) -> DecisionOut:
    """Reject, with an optional reason (409 if already decided)."""
    return await _decide(
        wiring=wiring,
        console=console,
        caller=caller,
        recommendation_id=recommendation_id,
        decision=Decision.REJECT,
        comment=body.comment,
    )


@router.post("/recommendations/{recommendation_id}/snooze", response_model=DecisionOut)
async def snooze(
    recommendation_id: uuid.UUID,
    body: SnoozeIn,
    caller: Approver,
    wiring: WiringDep,
    console: ConsoleDep,
) -> DecisionOut:
    """Hide the recommendation for some days; it comes back as open afterwards."""
    until = wiring.clock() + timedelta(days=body.days)
    return await _decide(
        wiring=wiring,
        console=console,
        caller=caller,
        recommendation_id=recommendation_id,
        decision=Decision.SNOOZE,
        comment=body.comment,
        snooze_until=until,
    )
