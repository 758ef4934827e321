"""Turn an approved recommendation into a signed instruction row for its cluster's executor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from auth.instruction_signing import DEFAULT_TTL, InstructionKeyring, instruction_for_recommendation
from protocol.recommendation import Recommendation
from protocol.trace_context import current_carrier
from store.repositories.instructions import InstructionRepository


@dataclass(frozen=True)
class IssuedInstruction:
    """The instruction an approval created."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    expires_at: datetime


class InstructionIssuer(Protocol):
    """Creates the signed instruction of an approval, inside the approval's transaction."""

    async def issue(
        self,
        session: AsyncSession,
        *,
        tenant_id: uuid.UUID,
        recommendation: Recommendation,
        now: datetime,
    ) -> IssuedInstruction:
        """Sign and store the instruction carrying out `recommendation`."""
        ...


class SignedInstructionIssuer:
    """Signs with the current instruction key and stores the instruction, approved."""

    def __init__(
        self, keyring: Callable[[], InstructionKeyring], *, ttl: timedelta = DEFAULT_TTL
    ) -> None:
        self._keyring = keyring
        self._ttl = ttl

    async def issue(
        self,
        session: AsyncSession,
        *,
        tenant_id: uuid.UUID,
        recommendation: Recommendation,
        now: datetime,
    ) -> IssuedInstruction:
        """Sign and store the instruction carrying out `recommendation`."""
        instruction = instruction_for_recommendation(
            recommendation, tenant_id=tenant_id, keyring=self._keyring(), now=now, ttl=self._ttl
        )
        stored = await InstructionRepository(session, tenant_id).create_approved(
            instruction, approved_at=now, trace_context=current_carrier()
        )
        return IssuedInstruction(stored.id, stored.cluster_id, stored.expires_at)
