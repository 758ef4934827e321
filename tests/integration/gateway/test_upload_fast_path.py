"""Uploads served by the fast path are answered as the app answers the same upload.

A cluster id spelled without hyphens is a path the fast path leaves to the app (FastAPI reads it
as the same UUID), so each upload is sent both ways and the answers compared.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
import pytest

from auth.provisioning import ClusterCredentials
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    gzip_json,
    json_headers,
    small_delta,
    small_snapshot,
    spot_notice,
)

Upload = Callable[[uuid.UUID, str], tuple[str, bytes, dict[str, str]]]


def _delta(cluster_id: uuid.UUID, token: str) -> tuple[str, bytes, dict[str, str]]:
    return "deltas", gzip_json(small_delta(cluster_id)), json_headers(token)


def _snapshot(cluster_id: uuid.UUID, token: str) -> tuple[str, bytes, dict[str, str]]:
    return "snapshots", gzip_json(small_snapshot(cluster_id)), json_headers(token)


def _notice(cluster_id: uuid.UUID, token: str) -> tuple[str, bytes, dict[str, str]]:
    return "spot-notices", gzip_json(spot_notice(cluster_id)), json_headers(token)


def _invalid_delta(cluster_id: uuid.UUID, token: str) -> tuple[str, bytes, dict[str, str]]:
    document = json.loads(small_delta(cluster_id).model_dump_json())
    document["base_sequence"] = -1
    return "deltas", json.dumps(document).encode(), json_headers(token, gzipped=False)


def _bad_token(cluster_id: uuid.UUID, token: str) -> tuple[str, bytes, dict[str, str]]:
    return "deltas", gzip_json(small_delta(cluster_id)), json_headers("garbage")


def _bad_gzip(cluster_id: uuid.UUID, token: str) -> tuple[str, bytes, dict[str, str]]:
    return "deltas", b"not gzip", json_headers(token)


def _answer(response: httpx.Response) -> tuple[int, str | None, str | None, object]:
    """What a client sees, ids aside (each upload carries its own)."""
    document = response.json()
    for field in ("delta_id", "snapshot_id", "notice_id"):
        if field in document:
            document[field] = "<id>"
    return (
        response.status_code,
        response.headers.get("content-type"),
        response.headers.get("www-authenticate"),
        document,
    )


@pytest.mark.parametrize(
    "upload",
    [_delta, _snapshot, _notice, _invalid_delta, _bad_token, _bad_gzip],
    ids=["delta", "snapshot", "notice", "invalid-delta", "bad-token", "bad-gzip"],
)
async def test_fast_path_answers_as_the_app_does(
    gateway: RunningGateway, credentials: ClusterCredentials, upload: Upload
) -> None:
    """The same kind of upload gets the same status, headers and body on either path."""
    cluster_id = credentials.cluster.id
    token = await agent_token(gateway, credentials)
    answers = []
    async with gateway.client() as http:
        for spelling in (str(cluster_id), cluster_id.hex):
            route, body, headers = upload(cluster_id, token)
            response = await http.post(
                f"/v1/clusters/{spelling}/{route}", content=body, headers=headers
            )
            answers.append(_answer(response))
    assert answers[0] == answers[1]
