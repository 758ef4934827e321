"""Recording what an executor did with an instruction, and what follows from it.

In one transaction: the result is stored on the instruction (the same result again is a no-op,
a different one a conflict), the recommendation it carried out becomes applied or failed, and
the audit log says so. Reports are at-least-once, so only the first one has these effects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from protocol.instruction import InstructionResult
from store.database import Database
from store.errors import NotFoundError
from store.repositories.audit import AuditRepository
from store.repositories.instructions import InstructionRepository, InstructionView
from store.repositories.recommendation_outcomes import (
    ExecutionStatus,
    RecommendationOutcomeRepository,
)


@dataclass(frozen=True)
class RecordedResult:
    """The instruction after the report, and whether this report was the first."""

    instruction: InstructionView
    stored: bool
    recommendation_status: ExecutionStatus | None
    """What the report made of the recommendation (None: unchanged, or a repeated report)."""


async def record_result(
    database: Database,
    tenant_id: uuid.UUID,
    actor: str,
    result: InstructionResult,
    *,
    now: datetime,
) -> RecordedResult:
    """Store `result` for its instruction of `result.cluster_id`; NotFoundError if there is none."""
    async with database.tenant(tenant_id) as session:
        instructions = InstructionRepository(session, tenant_id)
        existing = await instructions.get(result.instruction_id)
        if existing.cluster_id != result.cluster_id:
            # Another cluster's instruction is not this executor's business, even to know of.
            raise NotFoundError(f"instruction {result.instruction_id} not found")
        view, stored = await instructions.record_result(result, now=now)
        if not stored:
            return RecordedResult(view, stored=False, recommendation_status=None)
        status = None
        if view.recommendation_id is not None:
            status = await RecommendationOutcomeRepository(session, tenant_id).record_execution(
                view.recommendation_id, result.outcome, now=now
            )
        await AuditRepository(session, tenant_id).append(
            actor=actor,
            action=f"instruction.{result.outcome.value}",
            subject_type="instruction",
            subject_id=str(view.id),
            details=_details(view, result, status),
        )
    return RecordedResult(view, stored=True, recommendation_status=status)


def _details(
    view: InstructionView, result: InstructionResult, status: ExecutionStatus | None
) -> dict[str, object]:
    details: dict[str, object] = {
        "cluster_id": str(view.cluster_id),
        "outcome": result.outcome.value,
        "actions": [
            {"index": action.index, "type": action.type.value, "outcome": action.outcome.value}
            for action in result.actions
        ],
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
    }
    if result.reason:
        details["reason"] = result.reason
    if result.executor_version:
        details["executor_version"] = result.executor_version
    if view.recommendation_id is not None:
        details["recommendation_id"] = str(view.recommendation_id)
    if status is not None:
        details["recommendation_status"] = status.value
    return details
