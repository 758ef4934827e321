"""Instructions the workers create: auto-approved spot evacuations.

An `InstructionIssuer` turns a body into the signed envelope that is stored; the process's
wiring function chooses which one. `KeyringInstructionIssuer` signs with an in-memory keyring;
`StoredKeysInstructionIssuer` re-reads the stored instruction keys before each signature, so
rotations made elsewhere are honoured. Without an issuer nothing is auto-approved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from auth.instruction_keys import InstructionKeys
from auth.instruction_signing import InstructionKeyring, instruction_body_for
from protocol.instruction import Approval, InstructionBody
from protocol.recommendation import Recommendation
from protocol.trace_context import current_carrier
from store.repositories.instructions import InstructionStatus
from store.tables import InstructionRecord


class InstructionIssuer(Protocol):
    """Turns an instruction body into the envelope stored for the executor to fetch."""

    async def envelope(
        self, session: AsyncSession, tenant_id: uuid.UUID, body: InstructionBody
    ) -> dict[str, Any]:
        """The envelope (as JSON) for `body`; `session` is the tenant's open transaction."""
        ...


class KeyringInstructionIssuer:
    """Signs with the current key of an instruction keyring (Ed25519 over canonical JSON)."""

    def __init__(self, keyring: Callable[[], InstructionKeyring]) -> None:
        """Sign with whatever keyring `keyring()` returns at the time (keys rotate)."""
        self._keyring = keyring

    async def envelope(
        self, session: AsyncSession, tenant_id: uuid.UUID, body: InstructionBody
    ) -> dict[str, Any]:
        """The signed `Instruction` as JSON."""
        del session, tenant_id  # the keyring is held in memory by the process
        return self._keyring().sign(body).model_dump(mode="json")


class StoredKeysInstructionIssuer:
    """Signs with the current stored instruction key, re-read before every signature."""

    def __init__(self, keys: InstructionKeys) -> None:
        """Sign with `keys` (started by the caller)."""
        self._keys = keys

    async def envelope(
        self, session: AsyncSession, tenant_id: uuid.UUID, body: InstructionBody
    ) -> dict[str, Any]:
        """The signed `Instruction` as JSON; spot notices are rare, so a re-read is cheap."""
        del session, tenant_id  # keys belong to no tenant
        await self._keys.reload()
        return self._keys.keyring().sign(body).model_dump(mode="json")


def instruction_body(
    tenant_id: uuid.UUID, recommendation: Recommendation, *, now: datetime, ttl_seconds: float
) -> InstructionBody:
    """The instruction carrying out `recommendation`, valid for `ttl_seconds` from `now` but not
    beyond the recommendation's own expiry (a spot evacuation's notice deadline)."""
    return instruction_body_for(
        recommendation.change_set,
        tenant_id=tenant_id,
        cluster_id=recommendation.cluster_id,
        issued_at=now,
        ttl=timedelta(seconds=ttl_seconds),
        recommendation_id=recommendation.recommendation_id,
        computed_from=recommendation.computed_from,
        not_after=recommendation.expires_at,
    ).model_copy(update={"approval": Approval.POLICY})


async def store_approved_instruction(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    body: InstructionBody,
    envelope: dict[str, Any],
    *,
    now: datetime,
) -> uuid.UUID:
    """Insert an approved, not yet delivered instruction row; returns its id."""
    session.add(
        InstructionRecord(
            id=body.instruction_id,
            tenant_id=tenant_id,
            cluster_id=body.cluster_id,
            recommendation_id=body.recommendation_id,
            status=InstructionStatus.APPROVED.value,
            envelope=envelope,
            created_at=now,
            expires_at=body.expires_at,
            approved_at=now,
            # The spot notice's trace goes on to the executor with the instruction.
            trace_context=current_carrier() or None,
        )
    )
    await session.flush()
    return body.instruction_id
