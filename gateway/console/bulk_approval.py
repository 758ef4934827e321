"""Approve several recommendations at once: each one signed and audited as if approved alone.

A failure on one (already decided, not applicable, no signer) does not stop the others; each
outcome is reported. The page shows the selection for one confirmation before anything is signed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.console.context import Console
from gateway.console.decisions import SigningUnavailableError, UnapplicableRecommendationError
from gateway.wiring import Wiring
from store.errors import ConflictError, NotFoundError
from store.repositories.console_decisions import Decision
from store.repositories.console_queries import ConsoleQueries, RecommendationSummary

MAX_SELECTED = 100


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one selected recommendation."""

    recommendation_id: uuid.UUID
    approved: bool
    instruction_id: uuid.UUID | None = None
    error: str | None = None


async def selected(
    wiring: Wiring, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], *, now: datetime
) -> list[RecommendationSummary]:
    """The tenant's recommendations among `ids` (others' and unknown ids are left out)."""
    found = []
    async with wiring.database.tenant(tenant_id) as session:
        queries = ConsoleQueries(session, tenant_id)
        for rid in dict.fromkeys(ids):
            try:
                found.append((await queries.recommendation(rid, now=now)).summary)
            except NotFoundError:
                continue
    return found


async def approve_all(
    console: Console,
    wiring: Wiring,
    tenant_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    *,
    actor: str,
    comment: str | None = None,
) -> list[BulkOutcome]:
    """Approve each of `ids` in turn; one outcome per distinct id."""
    outcomes = []
    for rid in dict.fromkeys(ids):
        try:
            result = await console.decisions(wiring).decide(
                tenant_id=tenant_id,
                recommendation_id=rid,
                decision=Decision.APPROVE,
                actor=actor,
                now=wiring.clock(),
                comment=comment,
            )
        except (
            ConflictError,
            NotFoundError,
            SigningUnavailableError,
            UnapplicableRecommendationError,
        ) as e:
            outcomes.append(BulkOutcome(rid, approved=False, error=str(e)))
            continue
        instruction = result.instruction
        outcomes.append(
            BulkOutcome(rid, approved=True, instruction_id=instruction.id if instruction else None)
        )
    return outcomes
