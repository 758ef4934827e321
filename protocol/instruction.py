"""Signed instructions to the in-cluster executor, and the results it reports back."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, JsonValue

from protocol.base import ShortText, WireModel
from protocol.changes import MAX_ACTIONS, Action, ActionType
from protocol.recommendation import ObjectVersion


class Approval(StrEnum):
    """Who approved an instruction: a person in the console, or a tenant policy automatically."""

    HUMAN = "human"
    POLICY = "policy"


class InstructionBody(WireModel):
    """The signed part of an instruction."""

    schema_version: Literal["1"] = "1"
    instruction_id: UUID
    tenant_id: UUID
    cluster_id: UUID
    recommendation_id: UUID | None = None
    approval: Approval = Approval.HUMAN
    """Executors in `approve-each` mode apply only human-approved instructions."""
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    nonce: Annotated[str, Field(min_length=16, max_length=64, pattern=r"^[0-9a-f]+$")]
    actions: Annotated[list[Action], Field(min_length=1, max_length=MAX_ACTIONS)]
    computed_from: Annotated[list[ObjectVersion], Field(max_length=256)] = Field(
        default_factory=list
    )


class Instruction(WireModel):
    """An instruction body with its Ed25519 signature over `canonical_json(body)`."""

    body: InstructionBody
    key_id: Annotated[str, Field(min_length=1, max_length=64)]
    signature: Annotated[str, Field(min_length=1, max_length=128)]
    """Unpadded base64url of the 64-byte Ed25519 signature."""


class Outcome(StrEnum):
    """How an instruction or one of its actions ended."""

    APPLIED = "applied"
    DRY_RUN = "dry-run"
    REFUSED = "refused"
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"
    SKIPPED = "skipped"


class ActionOutcome(WireModel):
    """Result of one action of an instruction."""

    index: Annotated[int, Field(ge=0, lt=MAX_ACTIONS)]
    type: ActionType
    outcome: Outcome
    message: ShortText = ""
    diff: JsonValue = None
    """What changed (or would change, in dry-run), as a JSON merge patch."""
    rollback: JsonValue = None
    """The prior state needed to undo the action."""


class InstructionResult(WireModel):
    """What the executor did with one instruction."""

    schema_version: Literal["1"] = "1"
    instruction_id: UUID
    cluster_id: UUID
    outcome: Outcome
    reason: ShortText = ""
    actions: Annotated[list[ActionOutcome], Field(max_length=MAX_ACTIONS)] = Field(
        default_factory=list
    )
    started_at: AwareDatetime
    finished_at: AwareDatetime
    executor_version: Annotated[str, Field(max_length=64)] = ""
