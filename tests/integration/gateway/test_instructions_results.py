"""Executor results: stored once, recommendation applied or failed, audited, announced; isolated."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from auth.provisioning import ClusterCredentials, Provisioning
from gateway.result_notifications import DEFAULT_QUEUE
from protocol.instruction import Instruction, Outcome
from protocol.tasks import NOTIFY_INSTRUCTION_RESULT
from store.database import Database
from store.repositories.audit import AuditRepository, AuditView
from store.repositories.instructions import InstructionRepository
from store.repositories.recommendation_outcomes import RecommendationOutcomeRepository
from store.tables import RecommendationRecord
from tests.integration.gateway.harness import RunningGateway, fetch_token
from tests.integration.gateway.instruction_fixtures import (
    approved_instruction,
    bearer,
    delivered,
    executor_token,
    poll,
    post_result,
    reader_token,
    result_of,
)


async def _delivered_instruction(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> tuple[Instruction, str]:
    """An approved instruction as the executor received it, and the executor's token."""
    instruction_id = await approved_instruction(gateway, credentials)
    token = await executor_token(gateway, credentials)
    [instruction] = delivered(await poll(gateway, token, credentials.cluster.id))
    assert instruction.body.instruction_id == instruction_id
    return instruction, token


async def _recommendation_status(
    database: Database, tenant_id: uuid.UUID, recommendation_id: uuid.UUID | None
) -> str:
    assert recommendation_id is not None
    async with database.tenant(tenant_id) as session:
        row = await session.get(RecommendationRecord, recommendation_id)
    assert row is not None
    return row.status


async def _result_audit(
    database: Database, tenant_id: uuid.UUID, instruction_id: uuid.UUID
) -> list[AuditView]:
    """Audit entries of the instruction other than its issuing (which the approval wrote)."""
    async with database.tenant(tenant_id) as session:
        entries = await AuditRepository(session, tenant_id).list(
            subject_id=str(instruction_id), limit=10
        )
    return [entry for entry in entries if entry.action != "instruction.issued"]


async def _queued_notifications(gateway: RunningGateway, instruction_id: uuid.UUID) -> list[Any]:
    """Arguments of the notification tasks queued for `instruction_id` (removed from the queue)."""
    await gateway.wiring.instructions.settled()
    redis = gateway.wiring.redis
    found = []
    for raw in await redis.lrange(DEFAULT_QUEUE, 0, -1):
        text = raw.decode() if isinstance(raw, bytes) else raw
        message = json.loads(text)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        if message["headers"]["task"] == NOTIFY_INSTRUCTION_RESULT and args[1] == str(
            instruction_id
        ):
            found.append(args)
            await redis.lrem(DEFAULT_QUEUE, 1, text)
    return found


async def test_applied_result_completes_the_instruction_and_applies_the_recommendation(
    gateway: RunningGateway, credentials: ClusterCredentials, provisioning: Provisioning
) -> None:
    """202; status reads completed/applied; the recommendation is applied; audit names it."""
    tenant_id = credentials.cluster.tenant_id
    instruction, token = await _delivered_instruction(gateway, credentials)
    result = result_of(instruction)

    response = await post_result(gateway, token, result)

    assert response.status_code == 202
    assert response.json() == {
        "instruction_id": str(instruction.body.instruction_id),
        "status": "completed",
        "duplicate": False,
        "recommendation_status": "applied",
    }
    reader = await reader_token(gateway, provisioning, tenant_id)
    async with gateway.client() as http:
        state = await http.get(
            f"/v1/clusters/{credentials.cluster.id}/instructions/{instruction.body.instruction_id}",
            headers=bearer(reader),
        )
    assert state.status_code == 200
    document = state.json()
    assert (document["status"], document["outcome"], document["delivery_count"]) == (
        "completed",
        "applied",
        1,
    )
    assert document["action_types"] == ["cordon"]
    assert document["result"] == result.model_dump(mode="json")
    status = await _recommendation_status(
        gateway.wiring.database, tenant_id, instruction.body.recommendation_id
    )
    assert status == "applied"
    [entry] = await _result_audit(
        gateway.wiring.database, tenant_id, instruction.body.instruction_id
    )
    executor = credentials.executor.client.client_id
    assert (entry.actor, entry.action) == (f"client:{executor}", "instruction.applied")
    assert entry.details["recommendation_status"] == "applied"
    assert entry.details["actions"] == [{"index": 0, "type": "cordon", "outcome": "applied"}]


async def test_a_new_result_queues_the_workers_notification_task(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """The task the workers register, with tenant and instruction id, lands on their queue."""
    instruction, token = await _delivered_instruction(gateway, credentials)

    await post_result(gateway, token, result_of(instruction))

    tenant = str(credentials.cluster.tenant_id)
    queued = await _queued_notifications(gateway, instruction.body.instruction_id)
    assert queued == [[tenant, str(instruction.body.instruction_id)]]


async def test_the_same_result_again_is_accepted_as_a_duplicate_without_new_effects(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A repeated report: 200 duplicate; one audit entry and one notification in all."""
    tenant_id = credentials.cluster.tenant_id
    instruction, token = await _delivered_instruction(gateway, credentials)
    result = result_of(instruction)

    first = await post_result(gateway, token, result)
    again = await post_result(gateway, token, result)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["duplicate"] is True
    assert again.json()["recommendation_status"] is None
    entries = await _result_audit(
        gateway.wiring.database, tenant_id, instruction.body.instruction_id
    )
    assert len(entries) == 1
    assert len(await _queued_notifications(gateway, instruction.body.instruction_id)) == 1


async def test_a_different_result_for_a_completed_instruction_conflicts(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Applied first, then failed: 409, and the first result stands."""
    tenant_id = credentials.cluster.tenant_id
    instruction, token = await _delivered_instruction(gateway, credentials)
    await post_result(gateway, token, result_of(instruction))

    response = await post_result(gateway, token, result_of(instruction, Outcome.FAILED))

    assert response.status_code == 409
    async with gateway.wiring.database.tenant(tenant_id) as session:
        view = await InstructionRepository(session, tenant_id).get(instruction.body.instruction_id)
    assert view.outcome is Outcome.APPLIED


async def test_a_refused_instruction_marks_its_recommendation_failed(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Outcome refused: the recommendation becomes failed and the audit action says refused."""
    tenant_id = credentials.cluster.tenant_id
    instruction, token = await _delivered_instruction(gateway, credentials)

    response = await post_result(
        gateway, token, result_of(instruction, Outcome.REFUSED, "action type not allowed")
    )

    assert response.json()["recommendation_status"] == "failed"
    status = await _recommendation_status(
        gateway.wiring.database, tenant_id, instruction.body.recommendation_id
    )
    assert status == "failed"
    [entry] = await _result_audit(
        gateway.wiring.database, tenant_id, instruction.body.instruction_id
    )
    assert (entry.action, entry.details["reason"]) == (
        "instruction.refused",
        "action type not allowed",
    )


async def test_a_dry_run_result_leaves_the_recommendation_approved(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Dry-run changed nothing: the instruction completes, the recommendation stays approved."""
    tenant_id = credentials.cluster.tenant_id
    instruction, token = await _delivered_instruction(gateway, credentials)

    response = await post_result(gateway, token, result_of(instruction, Outcome.DRY_RUN))

    assert response.status_code == 202
    assert response.json()["recommendation_status"] is None
    status = await _recommendation_status(
        gateway.wiring.database, tenant_id, instruction.body.recommendation_id
    )
    assert status == "approved"


async def test_a_body_naming_another_instruction_than_the_path_is_refused(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Path and body disagree on the instruction id: 422 naming `instruction_id`."""
    instruction, token = await _delivered_instruction(gateway, credentials)

    response = await post_result(
        gateway, token, result_of(instruction), instruction_id=uuid.uuid4()
    )

    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == ["instruction_id"]


async def test_a_result_for_an_unknown_instruction_is_not_found(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """No such instruction: 404 problem."""
    instruction, token = await _delivered_instruction(gateway, credentials)
    unknown = result_of(instruction).model_copy(update={"instruction_id": uuid.uuid4()})

    response = await post_result(gateway, token, unknown)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_sibling_clusters_executor_cannot_report_for_this_cluster(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    sibling_credentials: ClusterCredentials,
) -> None:
    """Same tenant: another cluster's path is 403; its own path with our instruction is 404."""
    instruction, _ = await _delivered_instruction(gateway, credentials)
    sibling = await executor_token(gateway, sibling_credentials)
    result = result_of(instruction)
    posing = result.model_copy(update={"cluster_id": sibling_credentials.cluster.id})

    wrong_path = await post_result(gateway, sibling, result)
    own_path = await post_result(gateway, sibling, posing)

    assert (wrong_path.status_code, own_path.status_code) == (403, 404)


async def test_another_tenant_can_neither_report_nor_read_this_tenants_instruction(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    foreign_credentials: ClusterCredentials,
    provisioning: Provisioning,
) -> None:
    """Results and status reads across tenants answer 404; ours stays without a result."""
    tenant_id = credentials.cluster.tenant_id
    instruction, _ = await _delivered_instruction(gateway, credentials)
    foreign_executor = await executor_token(gateway, foreign_credentials)
    foreign_reader = await reader_token(
        gateway, provisioning, foreign_credentials.cluster.tenant_id
    )
    posing = result_of(instruction).model_copy(
        update={"cluster_id": foreign_credentials.cluster.id}
    )
    path = f"/v1/clusters/{credentials.cluster.id}/instructions/{instruction.body.instruction_id}"

    reported = await post_result(gateway, foreign_executor, posing)
    async with gateway.client() as http:
        read = await http.get(path, headers=bearer(foreign_reader))

    assert (reported.status_code, read.status_code) == (404, 404)
    async with gateway.wiring.database.tenant(tenant_id) as session:
        view = await InstructionRepository(session, tenant_id).get(instruction.body.instruction_id)
    assert view.result is None


async def test_reading_an_instruction_needs_the_console_read_scope(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """The executor's token cannot read instruction status: 403 insufficient-scope."""
    instruction, token = await _delivered_instruction(gateway, credentials)
    path = f"/v1/clusters/{credentials.cluster.id}/instructions/{instruction.body.instruction_id}"

    async with gateway.client() as http:
        response = await http.get(path, headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["detail"] == "requires scope: console:read"


async def test_outcome_repository_cannot_touch_another_tenants_recommendation(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    foreign_credentials: ClusterCredentials,
) -> None:
    """Recording an outcome as another tenant changes nothing and reports nothing."""
    tenant_id = credentials.cluster.tenant_id
    foreign_tenant = foreign_credentials.cluster.tenant_id
    instruction, _ = await _delivered_instruction(gateway, credentials)
    recommendation_id = instruction.body.recommendation_id
    assert recommendation_id is not None

    async with gateway.wiring.database.tenant(foreign_tenant) as session:
        changed = await RecommendationOutcomeRepository(session, foreign_tenant).record_execution(
            recommendation_id, Outcome.APPLIED, now=gateway.wiring.clock()
        )

    assert changed is None
    status = await _recommendation_status(gateway.wiring.database, tenant_id, recommendation_id)
    assert status == "approved"


async def test_a_reader_bound_to_one_cluster_cannot_read_another_clusters_instructions(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    sibling_credentials: ClusterCredentials,
    provisioning: Provisioning,
) -> None:
    """Automation with `console:read` bound to the sibling cluster: 403 for this cluster."""
    instruction, _ = await _delivered_instruction(gateway, credentials)
    bound = await provisioning.create_client(
        credentials.cluster.tenant_id,
        ["console:read"],
        actor="test",
        cluster_id=sibling_credentials.cluster.id,
    )
    token = await fetch_token(gateway, bound.client.client_id, bound.secret)
    path = f"/v1/clusters/{credentials.cluster.id}/instructions/{instruction.body.instruction_id}"

    async with gateway.client() as http:
        response = await http.get(path, headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["type"] == "urn:slicewise:problem:wrong-cluster"
