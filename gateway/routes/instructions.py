"""Instructions: the executor's long-poll and result report, and their status for people.

GET  /v1/clusters/{cluster}/instructions?wait=S           scope instructions (that cluster)
POST /v1/clusters/{cluster}/instructions/{id}/result      scope instructions (that cluster)
GET  /v1/clusters/{cluster}/instructions/{id}             scope console:read
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from gateway.body import read_json_body
from gateway.deps import ConsoleReader, InstructionsPrincipal, WiringDep, require_cluster
from gateway.openapi import json_body
from gateway.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_RESPONSES,
    InvalidParam,
    Problem,
    ProblemDocument,
)
from gateway.validation import validate_strict
from protocol.changes import ActionType
from protocol.instruction import Approval, Instruction, InstructionResult, Outcome
from store.repositories.instructions import InstructionView

router = APIRouter(prefix="/v1/clusters/{cluster_id}/instructions", tags=["instructions"])

_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: PROBLEM_RESPONSES[status] for status in (401, 403, 503)
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": ProblemDocument,
        "content": {PROBLEM_MEDIA_TYPE: {}},
        "description": description,
    }


class InstructionList(BaseModel):
    """Signed instructions for the executor to verify and carry out."""

    instructions: list[Instruction]
    traces: dict[str, dict[str, str]] = {}
    """W3C `traceparent`/`tracestate` by instruction id: handling an instruction continues the
    trace of its approval. Outside the signed instructions; executors may ignore it."""


class ResultAccepted(BaseModel):
    """A stored result; `duplicate` when the same result had been reported before."""

    instruction_id: uuid.UUID
    status: str
    duplicate: bool
    recommendation_status: str | None = None


class InstructionState(BaseModel):
    """Where an instruction stands, and what the executor reported."""

    instruction_id: uuid.UUID
    cluster_id: uuid.UUID
    recommendation_id: uuid.UUID | None
    status: str
    """approved (waiting for a result), completed or expired."""
    approval: Approval
    action_types: list[ActionType]
    key_id: str
    issued_at: datetime
    expires_at: datetime
    approved_at: datetime | None
    delivered_at: datetime | None
    delivery_count: int
    completed_at: datetime | None
    outcome: Outcome | None
    result: InstructionResult | None


@router.get("", response_model=InstructionList, responses=_READ_RESPONSES)
async def poll_instructions(
    cluster_id: uuid.UUID,
    request: Request,
    principal: InstructionsPrincipal,
    wiring: WiringDep,
    wait: Annotated[
        float,
        Query(ge=0, description="Seconds to wait for an instruction; longer waits are shortened"),
    ] = 0.0,
) -> Response:
    """Instructions to carry out now, waiting up to `wait` seconds for one to be approved."""
    require_cluster(principal, cluster_id)
    async with _client_gone(request) as gone:
        found = await wiring.instructions.poll(principal.tenant_id, cluster_id, wait, gone=gone)
    document = InstructionList(
        instructions=[item.instruction for item in found],
        traces={
            str(item.instruction.body.instruction_id): item.trace_context
            for item in found
            if item.trace_context
        },
    ).model_dump_json()
    return Response(document, media_type="application/json")


@router.post(
    "/{instruction_id}/result",
    status_code=202,
    response_model=ResultAccepted,
    responses={
        200: {"model": ResultAccepted, "description": "The same result was already recorded"},
        404: _problem("No such instruction for this cluster"),
        409: _problem("A different result was already recorded"),
        **{s: PROBLEM_RESPONSES[s] for s in (401, 403, 413, 415, 422, 503)},
    },
    openapi_extra=json_body(InstructionResult, gzip=False),
)
async def post_result(
    cluster_id: uuid.UUID,
    instruction_id: uuid.UUID,
    request: Request,
    principal: InstructionsPrincipal,
    wiring: WiringDep,
) -> Response:
    """Record the executor's result: 202 the first time, 200 when it is a repeat."""
    require_cluster(principal, cluster_id)
    raw = await read_json_body(request, wiring.limits)
    result = validate_strict(InstructionResult, raw, lambda r: r)
    _matches(result.instruction_id, instruction_id, "instruction_id", "the path instruction")
    _matches(result.cluster_id, cluster_id, "cluster_id", "the path cluster")
    recorded = await wiring.instructions.record(
        principal.tenant_id, f"client:{principal.client_id}", result
    )
    status = recorded.recommendation_status
    accepted = ResultAccepted(
        instruction_id=instruction_id,
        status=recorded.instruction.status.value,
        duplicate=not recorded.stored,
        recommendation_status=None if status is None else status.value,
    )
    return JSONResponse(
        accepted.model_dump(mode="json"), status_code=202 if recorded.stored else 200
    )


@router.get(
    "/{instruction_id}",
    response_model=InstructionState,
    responses={404: _problem("No such instruction for this cluster"), **_READ_RESPONSES},
)
async def get_instruction(
    cluster_id: uuid.UUID, instruction_id: uuid.UUID, principal: ConsoleReader, wiring: WiringDep
) -> InstructionState:
    """An instruction of one of the caller's clusters: its status and the executor's result."""
    if principal.cluster_id is not None:
        require_cluster(principal, cluster_id)  # automation bound to one cluster sees only it
    view = await wiring.instructions.get(principal.tenant_id, cluster_id, instruction_id)
    return _state(view)


def _state(view: InstructionView) -> InstructionState:
    body = view.instruction.body
    return InstructionState(
        instruction_id=view.id,
        cluster_id=view.cluster_id,
        recommendation_id=view.recommendation_id,
        status=view.status.value,
        approval=body.approval,
        action_types=[action.type for action in body.actions],
        key_id=view.instruction.key_id,
        issued_at=body.issued_at,
        expires_at=view.expires_at,
        approved_at=view.approved_at,
        delivered_at=view.delivered_at,
        delivery_count=view.delivery_count,
        completed_at=view.completed_at,
        outcome=view.outcome,
        result=view.result,
    )


def _matches(found: uuid.UUID, expected: uuid.UUID, field: str, what: str) -> None:
    if found != expected:
        raise Problem(
            422,
            "validation",
            "Request is not valid",
            f"the body names another {field} than {what}",
            invalid_params=[InvalidParam(name=field, reason=f"does not match {what}")],
            reason=f"{field.replace('_', '-')}-mismatch",
        )


@contextlib.asynccontextmanager
async def _client_gone(request: Request) -> AsyncIterator[asyncio.Event]:
    """An event set when the client disconnects (a long-poll then stops waiting for nobody)."""
    gone = asyncio.Event()

    async def watch() -> None:
        # First the (empty) request body, then nothing until the client goes away.
        message = await request.receive()
        while message["type"] != "http.disconnect":
            message = await request.receive()
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        yield gone
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
