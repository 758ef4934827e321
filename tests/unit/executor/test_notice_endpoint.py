"""The executor's spot-notice endpoint: what it accepts, what it refuses, and idempotency."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from protocol.snapshot import Provider
from protocol.spot import NoticeKind, SpotNotice
from tests.unit.executor.notice_service import RecordingIntake, serving_endpoint

CLUSTER = uuid.UUID("5e0c3d7a-8f41-4b2e-9a6d-0c1b2a3d4e5f")
TOKEN = "watchers-shared-token-0123456789"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOTICE = SpotNotice(
    notice_id=uuid.UUID("9a1e5f0b-2c3d-4e5f-8a9b-0c1d2e3f4a5b"),
    cluster_id=CLUSTER,
    provider=Provider.AWS,
    kind=NoticeKind.TERMINATION,
    node_name="spot-node-3",
    detected_at=NOW,
    deadline=datetime(2026, 3, 2, 12, 2, tzinfo=UTC),
    action="terminate",
)
JSON = {"Content-Type": "application/json"}
AUTHORIZED = {**JSON, "Authorization": f"Bearer {TOKEN}"}
PATH = "/v1/spot-notices"


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[str, RecordingIntake]]:
    """The endpoint with a shared token, and the intake behind it."""
    intake = RecordingIntake()
    async with serving_endpoint(intake, CLUSTER, token=TOKEN, max_body=4096) as url:
        yield url, intake


async def _post(url: str, body: bytes | str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.post(f"{url}{PATH}", content=body, headers=headers)


async def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send bytes as they are; the status, headers and JSON body of the answer."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split(" ")[1]), headers, json.loads(body)


async def test_valid_notice_is_accepted(endpoint: tuple[str, RecordingIntake]) -> None:
    """A well-formed notice of this cluster with the token is answered 202 and handed over."""
    url, intake = endpoint
    response = await _post(url, NOTICE.model_dump_json(), AUTHORIZED)
    assert response.status_code == 202
    assert response.json() == {"notice_id": str(NOTICE.notice_id), "status": "accepted"}
    assert intake.notices == [NOTICE]


async def test_same_notice_posted_twice_is_taken_once(
    endpoint: tuple[str, RecordingIntake],
) -> None:
    """A retried post gets 202 again, marked duplicate, and the notice is handed over once."""
    url, intake = endpoint
    first = await _post(url, NOTICE.model_dump_json(), AUTHORIZED)
    second = await _post(url, NOTICE.model_dump_json(), AUTHORIZED)
    assert (first.status_code, second.status_code) == (202, 202)
    assert [first.json()["status"], second.json()["status"]] == ["accepted", "duplicate"]
    assert intake.notices == [NOTICE]


async def test_missing_or_wrong_token_is_refused_before_reading(
    endpoint: tuple[str, RecordingIntake],
) -> None:
    """No token, another token or another scheme: 401 with a challenge; nothing handed over."""
    url, intake = endpoint
    attempts = [
        JSON,
        {**JSON, "Authorization": "Bearer watchers-shared-token-0123456780"},
        {**JSON, "Authorization": f"Basic {TOKEN}"},
        {**JSON, "Authorization": f"Bearer {TOKEN}x"},
    ]
    for headers in attempts:
        response = await _post(url, NOTICE.model_dump_json(), headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == 'Bearer realm="slicewise-executor"'
        assert response.headers["content-type"] == "application/problem+json"
    assert intake.offered == 0


async def test_endpoint_without_a_token_takes_any_caller() -> None:
    """With no token configured the Authorization header is not needed."""
    intake = RecordingIntake()
    async with serving_endpoint(intake, CLUSTER) as url:
        response = await _post(url, NOTICE.model_dump_json(), JSON)
    assert response.status_code == 202
    assert intake.notices == [NOTICE]


async def test_body_of_another_media_type_is_refused(
    endpoint: tuple[str, RecordingIntake],
) -> None:
    """Only application/json is read (a charset parameter is fine)."""
    url, intake = endpoint
    refused = await _post(
        url, NOTICE.model_dump_json(), {**AUTHORIZED, "Content-Type": "text/plain"}
    )
    taken = await _post(
        url,
        NOTICE.model_dump_json(),
        {**AUTHORIZED, "Content-Type": "application/json; charset=utf-8"},
    )
    assert refused.status_code == 415
    assert taken.status_code == 202
    assert intake.offered == 1


async def test_malformed_notice_is_refused_naming_its_faults_not_its_values(
    endpoint: tuple[str, RecordingIntake],
) -> None:
    """Strict validation: an unknown field and a missing one are named; values are not echoed."""
    url, intake = endpoint
    document = NOTICE.model_dump(mode="json")
    del document["node_name"]
    document["command"] = "rm -rf /"
    response = await _post(url, json.dumps(document), AUTHORIZED)
    detail = response.json()["detail"]
    assert response.status_code == 422
    assert detail.startswith("not a valid SpotNotice: ")
    assert "node_name: Field required" in detail
    assert "command: Extra inputs are not permitted" in detail
    assert "rm -rf" not in detail
    assert intake.offered == 0


async def test_body_that_is_not_json_is_refused(endpoint: tuple[str, RecordingIntake]) -> None:
    """Garbage in a JSON request is a 422 problem, not a crash."""
    url, intake = endpoint
    response = await _post(url, b"{not json", AUTHORIZED)
    assert response.status_code == 422
    assert response.json()["title"] == "Unprocessable Entity"
    assert intake.offered == 0


async def test_notice_of_another_cluster_is_refused(
    endpoint: tuple[str, RecordingIntake],
) -> None:
    """A watcher configured for another cluster is told so instead of being obeyed."""
    url, intake = endpoint
    stranger = NOTICE.model_copy(update={"cluster_id": uuid.UUID(int=7)})
    response = await _post(url, stranger.model_dump_json(), AUTHORIZED)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"notice is for cluster {uuid.UUID(int=7)}; this executor serves {CLUSTER}"
    )
    assert intake.offered == 0


async def test_oversized_body_is_refused_without_being_read(
    endpoint: tuple[str, RecordingIntake],
) -> None:
    """A Content-Length over the limit is answered 413 at once, before any body byte is sent."""
    url, _ = endpoint
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: executor\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 4097\r\n\r\n"
    ).encode()
    status, headers, problem = await _raw(url, request)
    assert status == 413
    assert headers["connection"] == "close"
    assert problem["detail"] == "body of 4097 bytes exceeds 4096"


async def test_chunked_body_is_refused(endpoint: tuple[str, RecordingIntake]) -> None:
    """Bodies must announce their length; chunked transfer is answered 411."""
    url, intake = endpoint
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: executor\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ).encode()
    status, _, _ = await _raw(url, request)
    assert status == 411
    assert intake.offered == 0


async def test_oversized_request_head_is_refused(endpoint: tuple[str, RecordingIntake]) -> None:
    """A request head beyond 8 KiB is answered 431 instead of being buffered."""
    url, _ = endpoint
    request = f"POST {PATH} HTTP/1.1\r\nX-Padding: {'a' * 9000}\r\n\r\n".encode()
    status, _, _ = await _raw(url, request)
    assert status == 431


async def test_malformed_request_line_is_refused(endpoint: tuple[str, RecordingIntake]) -> None:
    """Something that is not an HTTP/1.x request line is a 400."""
    url, _ = endpoint
    status, _, problem = await _raw(url, b"HELLO\r\n\r\n")
    assert (status, problem["detail"]) == (400, "malformed request line")


async def test_only_post_reaches_the_notices_and_other_paths_are_unknown(
    endpoint: tuple[str, RecordingIntake],
) -> None:
    """GET on the notices is 405 (Allow: POST), an unknown path 404, the health path 200."""
    url, _ = endpoint
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        listing = await client.get(f"{url}{PATH}", headers=AUTHORIZED)
        elsewhere = await client.post(f"{url}/v1/instructions", headers=AUTHORIZED)
        health = await client.get(f"{url}/healthz")
    assert (listing.status_code, listing.headers["allow"]) == (405, "POST")
    assert elsewhere.status_code == 404
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
