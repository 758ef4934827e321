"""The executor's long-poll: at once when something waits, woken by approvals, at least once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from auth.provisioning import ClusterCredentials
from executor.verification import load_trusted_keys, verify_signature
from gateway.instruction_wakeups import InstructionWakeups
from store.repositories.instructions import InstructionRepository
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import RunningGateway, agent_token, serve
from tests.integration.gateway.instruction_fixtures import (
    ShiftingClock,
    approved_instruction,
    bearer,
    delivered,
    executor_token,
    poll,
    post_result,
    result_of,
)

LONG_WAIT = 60.0
"""The longest wait a long-poll may ask for; tests that must not wait it out assert on that."""
WITHIN = LONG_WAIT / 2


async def _until_waiting(wakeups: InstructionWakeups, cluster_id: uuid.UUID, count: int) -> None:
    async def check() -> None:
        # The waiter registry lives in the served app: polling it is how a test sees it.
        while wakeups.waiting(cluster_id) != count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(check(), WITHIN)


async def test_pending_instruction_is_returned_at_once_and_verifies(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """An approved instruction is handed out without waiting, signed by a trusted key."""
    instruction_id = await approved_instruction(gateway, credentials)
    token = await executor_token(gateway, credentials)

    response = await asyncio.wait_for(
        poll(gateway, token, credentials.cluster.id, wait=LONG_WAIT), WITHIN
    )

    [instruction] = delivered(response)
    assert instruction.body.instruction_id == instruction_id
    assert instruction.body.cluster_id == credentials.cluster.id
    assert instruction.body.tenant_id == credentials.cluster.tenant_id
    trusted = gateway.wiring.instruction_keys.trusted_public_keys()
    verify_signature(instruction, load_trusted_keys(trusted))


async def test_long_poll_wakes_when_an_instruction_is_approved_mid_wait(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A waiting long-poll answers with the instruction approved while it waited."""
    wakeups = gateway.wiring.instructions.wakeups
    cluster_id = credentials.cluster.id
    token = await executor_token(gateway, credentials)
    messages_before = wakeups.messages
    waiting = asyncio.create_task(poll(gateway, token, cluster_id, wait=LONG_WAIT))
    await _until_waiting(wakeups, cluster_id, 1)

    instruction_id = await approved_instruction(gateway, credentials)
    response = await asyncio.wait_for(waiting, WITHIN)

    assert [i.body.instruction_id for i in delivered(response)] == [instruction_id]
    assert wakeups.messages > messages_before
    assert wakeups.waiting(cluster_id) == 0


async def test_long_poll_answers_an_empty_list_when_nothing_arrives(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Nothing approved within the wait: 200 with no instructions."""
    token = await executor_token(gateway, credentials)

    response = await poll(gateway, token, credentials.cluster.id, wait=0.2)

    assert response.json() == {"instructions": [], "traces": {}}


async def test_long_poll_of_a_client_that_went_away_stops_waiting(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Closing the connection mid-wait ends the server's wait (no waiter is left behind)."""
    wakeups = gateway.wiring.instructions.wakeups
    cluster_id = credentials.cluster.id
    token = await executor_token(gateway, credentials)
    abandoned = asyncio.create_task(poll(gateway, token, cluster_id, wait=LONG_WAIT))
    await _until_waiting(wakeups, cluster_id, 1)

    abandoned.cancel()
    await asyncio.gather(abandoned, return_exceptions=True)

    await _until_waiting(wakeups, cluster_id, 0)


async def test_token_for_cluster_a_cannot_poll_cluster_b(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    sibling_credentials: ClusterCredentials,
) -> None:
    """Same tenant, another cluster's path: 403 wrong-cluster, and nothing is delivered."""
    await approved_instruction(gateway, sibling_credentials)
    token = await executor_token(gateway, credentials)

    response = await poll(gateway, token, sibling_credentials.cluster.id)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:slicewise:problem:wrong-cluster"
    sibling_token = await executor_token(gateway, sibling_credentials)
    assert len(delivered(await poll(gateway, sibling_token, sibling_credentials.cluster.id))) == 1


async def test_agent_token_without_the_instructions_scope_is_refused(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """The agent's `ingest` token: 403 insufficient-scope naming `instructions`."""
    token = await agent_token(gateway, credentials)

    response = await poll(gateway, token, credentials.cluster.id)

    assert response.status_code == 403
    assert response.json()["detail"] == "requires scope: instructions"


async def test_long_poll_without_a_token_is_unauthorized(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """No bearer token: 401 with a WWW-Authenticate challenge."""
    async with gateway.client() as http:
        response = await http.get(f"/v1/clusters/{credentials.cluster.id}/instructions")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_negative_wait_is_a_validation_problem(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """`wait=-1`: 422 naming the query parameter."""
    token = await executor_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.get(
            f"/v1/clusters/{credentials.cluster.id}/instructions",
            params={"wait": "-1"},
            headers=bearer(token),
        )

    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == ["query.wait"]


async def test_instruction_is_redelivered_until_its_result_arrives(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """Unanswered: handed out again after the redelivery delay; answered: never again."""
    clock = ShiftingClock()
    redeliver = timedelta(seconds=61)
    async with serve(make_settings(), clock=clock) as running:
        assert running.wiring.instructions.policy.redeliver_after < redeliver
        instruction_id = await approved_instruction(running, credentials)
        token = await executor_token(running, credentials)
        cluster_id = credentials.cluster.id

        first = delivered(await poll(running, token, cluster_id))
        too_soon = delivered(await poll(running, token, cluster_id))
        clock.offset += redeliver
        again = delivered(await poll(running, token, cluster_id))
        reported = await post_result(running, token, result_of(again[0]))
        clock.offset += redeliver
        after_result = delivered(await poll(running, token, cluster_id))
        async with running.wiring.database.tenant(credentials.cluster.tenant_id) as session:
            view = await InstructionRepository(session, credentials.cluster.tenant_id).get(
                instruction_id
            )

    assert [i.body.instruction_id for i in first] == [instruction_id]
    assert too_soon == []
    assert again == first
    assert reported.status_code == 202
    assert after_result == []
    assert view.delivery_count == 2


async def test_repeat_deliveries_and_results_are_counted(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """A first delivery, a repeat after the redelivery delay, and the result each count once."""
    clock = ShiftingClock()
    async with serve(make_settings(), clock=clock) as running:
        await approved_instruction(running, credentials)
        token = await executor_token(running, credentials)
        cluster_id = credentials.cluster.id
        await poll(running, token, cluster_id)
        clock.offset += timedelta(seconds=61)
        again = delivered(await poll(running, token, cluster_id))
        await post_result(running, token, result_of(again[0]))
        registry = running.wiring.metrics.registry

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("slicewise_gateway_instructions_delivered_total", delivery="first") == 1
    assert sample("slicewise_gateway_instructions_delivered_total", delivery="repeat") == 1
    assert sample("slicewise_gateway_instruction_pickup_seconds_count") == 1
    assert sample("slicewise_gateway_instruction_results_total", outcome="applied") == 1
