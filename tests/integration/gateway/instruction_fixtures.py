"""What the instruction endpoint tests share: a recommendation to approve, the approval, tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from auth.provisioning import ClusterCredentials, Provisioning
from bench.approval_stack import store_cordon_recommendation
from gateway.console.decisions import DecisionService
from gateway.console.instruction_issue import SignedInstructionIssuer
from gateway.wiring import Wiring
from protocol.instruction import (
    ActionOutcome,
    Instruction,
    InstructionResult,
    Outcome,
)
from store.database import Database
from store.repositories.console_decisions import Decision
from tests.integration.gateway.harness import RunningGateway, fetch_token

STARTED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class ShiftingClock:
    """The wall clock, moved forward by hand (redelivery waits are minutes long)."""

    offset: timedelta = field(default=timedelta(0))

    def __call__(self) -> datetime:
        """Now, plus the offset."""
        return datetime.now(UTC) + self.offset


async def open_recommendation(
    database: Database, tenant_id: uuid.UUID, cluster_id: uuid.UUID, *, node: str = "gpu-1"
) -> uuid.UUID:
    """Store an open recommendation to cordon `node`; returns its id."""
    return await store_cordon_recommendation(database, tenant_id, cluster_id, node)


async def approve(wiring: Wiring, tenant_id: uuid.UUID, recommendation_id: uuid.UUID) -> uuid.UUID:
    """Approve as the console does (sign, store, audit, publish); returns the instruction id."""
    decisions = DecisionService(
        wiring.database, wiring.redis, SignedInstructionIssuer(wiring.instruction_keys.keyring)
    )
    decided = await decisions.decide(
        tenant_id=tenant_id,
        recommendation_id=recommendation_id,
        decision=Decision.APPROVE,
        actor="approver@example.test",
        now=wiring.clock(),
    )
    assert decided.instruction is not None
    return decided.instruction.id


async def approved_instruction(
    gateway: RunningGateway, credentials: ClusterCredentials, *, node: str = "gpu-1"
) -> uuid.UUID:
    """A fresh open recommendation of the credentials' cluster, approved."""
    tenant_id = credentials.cluster.tenant_id
    recommendation_id = await open_recommendation(
        gateway.wiring.database, tenant_id, credentials.cluster.id, node=node
    )
    return await approve(gateway.wiring, tenant_id, recommendation_id)


async def executor_token(gateway: RunningGateway, credentials: ClusterCredentials) -> str:
    """The executor's access token (scope `instructions`, bound to its cluster)."""
    executor = credentials.executor
    return await fetch_token(gateway, executor.client.client_id, executor.secret)


async def reader_token(
    gateway: RunningGateway, provisioning: Provisioning, tenant_id: uuid.UUID
) -> str:
    """A `console:read` automation token of the tenant."""
    client = await provisioning.create_client(tenant_id, ["console:read"], actor="test")
    return await fetch_token(gateway, client.client.client_id, client.secret)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


async def poll(
    gateway: RunningGateway, token: str, cluster_id: uuid.UUID, wait: float = 0
) -> httpx.Response:
    """One long-poll as the executor sends it."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=wait + 30) as http:
        return await http.get(
            f"/v1/clusters/{cluster_id}/instructions",
            params={"wait": f"{wait:g}"},
            headers=bearer(token),
        )


def delivered(response: httpx.Response) -> list[Instruction]:
    """The instructions of a long-poll answer."""
    assert response.status_code == 200, response.text
    return [Instruction.model_validate(item) for item in response.json()["instructions"]]


def result_of(
    instruction: Instruction, outcome: Outcome = Outcome.APPLIED, reason: str = ""
) -> InstructionResult:
    """What an executor reports after carrying out (or refusing) `instruction`."""
    body = instruction.body
    return InstructionResult(
        instruction_id=body.instruction_id,
        cluster_id=body.cluster_id,
        outcome=outcome,
        reason=reason,
        actions=[
            ActionOutcome(index=i, type=action.type, outcome=outcome)
            for i, action in enumerate(body.actions)
        ],
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=2),
        executor_version="test",
    )


async def post_result(
    gateway: RunningGateway,
    token: str,
    result: InstructionResult,
    *,
    cluster_id: uuid.UUID | None = None,
    instruction_id: uuid.UUID | None = None,
) -> httpx.Response:
    """Report a result (to the path of its own instruction and cluster unless told otherwise)."""
    cluster = cluster_id or result.cluster_id
    instruction = instruction_id or result.instruction_id
    async with gateway.client() as http:
        return await http.post(
            f"/v1/clusters/{cluster}/instructions/{instruction}/result",
            content=result.model_dump_json(),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
