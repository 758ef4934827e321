"""Approve, reject or snooze a recommendation: decision, instruction and audit in one transaction.

An approval signs and stores the instruction in the same transaction as the decision, so there
is never an approved recommendation without its instruction (or the reverse). Once committed, a
message on the Redis channel `instructions:{cluster_id}` wakes the executor's long-poll; if
Redis is down the executor still finds the instruction on its next poll.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.console.instruction_issue import InstructionIssuer, IssuedInstruction
from protocol.recommendation import Recommendation
from protocol.topics import instructions_channel
from store.database import Database
from store.repositories.audit import AuditRepository
from store.repositories.console_decisions import (
    DecidedRecommendation,
    Decision,
    DecisionRepository,
)
from store.repositories.recommendation_expiry import expire_past_deadline
from store.repositories.users import UserRepository

_log = structlog.get_logger("gateway.console")


class SigningUnavailableError(RuntimeError):
    """No instruction signing key is configured, so nothing can be approved."""


class UnapplicableRecommendationError(ValueError):
    """The stored recommendation is not a valid change set and cannot become an instruction."""


@dataclass(frozen=True)
class DecisionResult:
    """The recommendation after the decision, and the instruction an approval created."""

    recommendation: DecidedRecommendation
    instruction: IssuedInstruction | None


async def actor_name(
    database: Database, tenant_id: uuid.UUID, user_id: uuid.UUID | None, client_id: str
) -> str:
    """How audit entries name the caller: a user's e-mail address, else `client:<client id>`."""
    if user_id is None:
        return f"client:{client_id}"
    async with database.tenant(tenant_id) as session:
        user = await UserRepository(session, tenant_id).get(user_id)
    return user.email


class DecisionService:
    """Carries out people's decisions on recommendations."""

    def __init__(self, database: Database, redis: Redis, issuer: InstructionIssuer | None) -> None:
        self._database = database
        self._redis = redis
        self._issuer = issuer

    async def decide(
        self,
        *,
        tenant_id: uuid.UUID,
        recommendation_id: uuid.UUID,
        decision: Decision,
        actor: str,
        now: datetime,
        comment: str | None = None,
        snooze_until: datetime | None = None,
    ) -> DecisionResult:
        """Record the decision (and, for an approval, its instruction) and audit it."""
        if decision is Decision.APPROVE and self._issuer is None:
            raise SigningUnavailableError("instruction signing is not configured")
        # A recommendation past its deadline expires first (committed on its own), so the
        # decision below finds it expired and is refused as a conflict.
        async with self._database.tenant(tenant_id) as session:
            await expire_past_deadline(session, tenant_id, now=now, only=recommendation_id)
        async with self._database.tenant(tenant_id) as session:
            decided = await DecisionRepository(session, tenant_id).decide(
                recommendation_id,
                decision,
                actor=actor,
                now=now,
                comment=comment,
                snooze_until=snooze_until,
            )
            instruction = None
            if decision is Decision.APPROVE and self._issuer is not None:
                try:
                    recommendation = Recommendation.model_validate(decided.body)
                except ValidationError as e:
                    raise UnapplicableRecommendationError(
                        "the stored recommendation is not a valid change set"
                    ) from e
                instruction = await self._issuer.issue(
                    session, tenant_id=tenant_id, recommendation=recommendation, now=now
                )
            audit = AuditRepository(session, tenant_id)
            await audit.append(
                actor=actor,
                action=f"recommendation.{decided.status}",
                subject_type="recommendation",
                subject_id=str(decided.id),
                details=_details(decided, instruction),
            )
            if instruction is not None:
                await audit.append(
                    actor=actor,
                    action="instruction.issued",
                    subject_type="instruction",
                    subject_id=str(instruction.id),
                    details={
                        "recommendation_id": str(decided.id),
                        "cluster_id": str(instruction.cluster_id),
                        "expires_at": instruction.expires_at.isoformat(),
                    },
                )
        if instruction is not None:
            await self._wake(instruction)
        return DecisionResult(decided, instruction)

    async def _wake(self, instruction: IssuedInstruction) -> None:
        try:
            await self._redis.publish(
                instructions_channel(instruction.cluster_id), str(instruction.id)
            )
        except (RedisError, OSError) as e:
            _log.warning(
                "could not wake the executor; it will find the instruction on its next poll",
                instruction_id=str(instruction.id),
                error=type(e).__name__,
            )


def _details(
    decided: DecidedRecommendation, instruction: IssuedInstruction | None
) -> dict[str, object]:
    details: dict[str, object] = {
        "cluster_id": str(decided.cluster_id),
        "kind": decided.kind,
        "title": str(decided.body.get("title", "")),
        "monthly_saving_usd": decided.monthly_saving_usd,
        "previous_status": decided.previous_status,
    }
    if decided.comment:
        details["comment"] = decided.comment
    if decided.snoozed_until is not None:
        details["snoozed_until"] = decided.snoozed_until.isoformat()
    if instruction is not None:
        details["instruction_id"] = str(instruction.id)
    return details
