"""Bodies built to crash a parser: deep nesting and lone surrogates are 422 problems."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable

import pytest

from auth.provisioning import ClusterCredentials
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    json_headers,
    small_snapshot,
    spot_notice,
)

LEVELS = 100_000


def _snapshot(cluster_id: uuid.UUID) -> str:
    return small_snapshot(cluster_id).model_dump_json()


def _notice(cluster_id: uuid.UUID) -> str:
    return spot_notice(cluster_id).model_dump_json()


DOCUMENTS: dict[str, tuple[str, Callable[[uuid.UUID], str], str]] = {
    "snapshot": ("snapshots", _snapshot, '"name":"node-1"'),
    "notice": ("spot-notices", _notice, '"node_name":"node-1"'),
}

HOSTILE: dict[str, Callable[[str, str], bytes]] = {
    "nested-arrays-as-body": lambda _doc, _field: b"[" * LEVELS + b"]" * LEVELS,
    "nested-objects-as-body": lambda _doc, _field: b'{"a":' * LEVELS + b"1" + b"}" * LEVELS,
    "nested-arrays-in-a-field": lambda doc, field: doc.replace(
        field, field.split(":")[0] + ":" + "[" * LEVELS + "]" * LEVELS
    ).encode(),
    "lone-leading-surrogate": lambda doc, field: doc.replace(
        field, field[:-1] + '\\ud800"'
    ).encode(),
    "lone-trailing-surrogate": lambda doc, field: doc.replace(
        field, field[:-1] + '\\udfff"'
    ).encode(),
    "surrogate-encoded-as-utf8": lambda doc, field: doc.encode().replace(
        field.encode(), field[:-1].encode() + b'\xed\xa0\x80"'
    ),
}


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
async def test_hostile_body_is_a_422_problem(
    gateway: RunningGateway, credentials: ClusterCredentials, document: str, hostile: str
) -> None:
    """The body is refused as unprocessable with a problem document, and the gateway serves on."""
    cluster_id = credentials.cluster.id
    collection, render, field = DOCUMENTS[document]
    body = HOSTILE[hostile](render(cluster_id), field)
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/{collection}",
            content=gzip.compress(body),
            headers=json_headers(token),
        )
        health = await http.get("/healthz")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert health.status_code == 200
