"""The gateway client: cached client-credentials tokens, polling and reporting.

The gateway is played by a hand-written handler behind httpx's MockTransport.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from executor.errors import GatewayRejectedError, TemporaryExecutorError
from executor.gateway_client import GatewayClient, TokenSource
from protocol.instruction import InstructionResult, Outcome

CLUSTER = uuid.UUID("00000000-0000-4000-8000-0000000000cc")
BASE = "https://gw.test"


class FakeGateway:
    """Token endpoint plus the two instruction endpoints, recording what it is sent."""

    def __init__(self) -> None:
        self.tokens_issued = 0
        self.expires_in = 300
        self.revoked: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.instructions: list[object] = []
        self.result_status = 202

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth/token":
            self.tokens_issued += 1
            token = f"tok-{self.tokens_issued}"
            return httpx.Response(
                200,
                json={"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in},
            )
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.revoked:
            return httpx.Response(401, json={"detail": "token revoked"})
        if request.method == "GET":
            return httpx.Response(200, json={"instructions": self.instructions})
        return httpx.Response(self.result_status, json={"detail": "recorded"})


@pytest.fixture
def gateway() -> FakeGateway:
    """A fresh fake gateway."""
    return FakeGateway()


@pytest.fixture
async def http(gateway: FakeGateway) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose transport is the fake gateway."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as client:
        yield client


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(
    http: httpx.AsyncClient, clock: Callable[[], float]
) -> tuple[GatewayClient, TokenSource]:
    tokens = TokenSource(http, f"{BASE}/oauth/token", "exec-1", "s3cret", clock=clock)
    return GatewayClient(http, BASE, CLUSTER, tokens), tokens


async def test_token_request_is_client_secret_post(
    http: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    """The token request is a form post with grant type, credentials and the instructions scope."""
    client, _ = _client(http, Clock())
    await client.poll(0)
    form = dict(x.split("=") for x in gateway.requests[0].content.decode().split("&"))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "exec-1",
        "client_secret": "s3cret",
        "scope": "instructions",
    }


async def test_token_is_reused_until_shortly_before_expiry(
    http: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    """With expires_in=300 the token is reused for 270 s (30 s margin), then fetched again."""
    clock = Clock()
    client, tokens = _client(http, clock)
    await client.poll(0)
    clock.now += 269
    await client.poll(0)
    assert tokens.fetches == 1
    clock.now += 1
    await client.poll(0)
    assert tokens.fetches == 2
    assert gateway.requests[-1].headers["Authorization"] == "Bearer tok-2"


async def test_refused_token_is_refetched_once(
    http: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    """A 401 drops the cached token and the request is retried with a new one."""
    client, tokens = _client(http, Clock())
    await client.poll(0)
    gateway.revoked.add("tok-1")
    await client.poll(0)
    assert tokens.fetches == 2
    assert gateway.requests[-1].headers["Authorization"] == "Bearer tok-2"


async def test_poll_sends_wait_and_drops_malformed_items(
    http: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    """The wait goes in the query; an item that is not an Instruction is reported as malformed."""
    gateway.instructions = [{"body": {}, "key_id": "k", "signature": "s"}]
    client, _ = _client(http, Clock())
    delivery = await client.poll(25)
    request = gateway.requests[-1]
    assert request.url.path == f"/v1/clusters/{CLUSTER}/instructions"
    assert request.url.params["wait"] == "25"
    assert delivery.instructions == []
    assert len(delivery.malformed) == 1


async def test_report_posts_result_json(http: httpx.AsyncClient, gateway: FakeGateway) -> None:
    """A result is posted as JSON to the instruction's result path."""
    client, _ = _client(http, Clock())
    now = datetime(2026, 3, 1, tzinfo=UTC)
    result = InstructionResult(
        instruction_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        outcome=Outcome.APPLIED,
        started_at=now,
        finished_at=now,
    )
    await client.report(result)
    request = gateway.requests[-1]
    assert request.url.path == f"/v1/clusters/{CLUSTER}/instructions/{result.instruction_id}/result"
    assert InstructionResult.model_validate(json.loads(request.content)) == result


async def test_report_rejected_by_gateway_is_permanent(
    http: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    """A 409 on a result is a GatewayRejectedError carrying the status."""
    gateway.result_status = 409
    client, _ = _client(http, Clock())
    now = datetime(2026, 3, 1, tzinfo=UTC)
    result = InstructionResult(
        instruction_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        outcome=Outcome.APPLIED,
        started_at=now,
        finished_at=now,
    )
    with pytest.raises(GatewayRejectedError) as rejected:
        await client.report(result)
    assert rejected.value.status_code == 409


async def test_server_error_is_temporary(http: httpx.AsyncClient, gateway: FakeGateway) -> None:
    """A 503 from the gateway is worth retrying later."""
    gateway.result_status = 503
    client, _ = _client(http, Clock())
    now = datetime(2026, 3, 1, tzinfo=UTC)
    result = InstructionResult(
        instruction_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        outcome=Outcome.APPLIED,
        started_at=now,
        finished_at=now,
    )
    with pytest.raises(TemporaryExecutorError, match="503"):
        await client.report(result)


async def test_unreachable_gateway_is_temporary() -> None:
    """A connection failure is a temporary error, not a crash."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        client, _ = _client(http, Clock())
        with pytest.raises(TemporaryExecutorError, match="unreachable"):
            await client.poll(0)
