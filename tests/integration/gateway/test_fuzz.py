"""Schemathesis fuzzes the ingest and token operations from the OpenAPI document: no 5xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from auth.provisioning import ClusterCredentials
from gateway.app import create_app
from tests.integration.gateway.fixtures import SettingsFactory

EXAMPLES = 30
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
OPERATIONS = [
    ("POST", "/v1/clusters/{cluster_id}/snapshots"),
    ("POST", "/v1/clusters/{cluster_id}/spot-notices"),
    ("POST", "/oauth/token"),
]


@pytest.fixture
def served(make_settings: SettingsFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """A gateway on its own thread and loop (schemathesis calls synchronously); URL and schema."""
    app = create_app(
        make_settings(snapshot_rate_per_cluster=100_000, notice_rate_per_cluster=100_000)
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="fuzzed-gateway", daemon=True)
    thread.start()
    poll = threading.Event()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        poll.wait(0.01)
    assert server.started, "gateway did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app.openapi()
    finally:
        server.should_exit = True
        thread.join(30)


def _token(url: str, credentials: ClusterCredentials) -> str:
    agent = credentials.agent
    response = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(agent.client.client_id, agent.secret),
    )
    token: str = response.json()["access_token"]
    return token


def _same_cluster(body: object, cluster_id: str) -> None:
    """Point a generated valid body at the path's cluster, so it gets past the match check."""
    if not isinstance(body, dict):
        return
    if isinstance(body.get("cluster"), dict):
        body["cluster"]["cluster_id"] = cluster_id
    elif "cluster_id" in body:
        body["cluster_id"] = cluster_id


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[p for _, p in OPERATIONS])
def test_fuzzed_requests_never_get_a_server_error(
    served: tuple[str, dict[str, Any]],
    credentials: ClusterCredentials,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    """Generated valid and invalid requests get 2xx/4xx answers, errors as problem documents."""
    url, document = served
    schema = schemathesis.openapi.from_dict(document).include(method=method, path=path)
    headers = {"Authorization": f"Bearer {_token(url, credentials)}"}
    fixed = {"cluster_id": str(credentials.cluster.id)} if "{cluster_id}" in path else None
    strategy = schema.as_strategy(generation_mode=mode, path_parameters=fixed)
    statuses: list[int] = []

    @FUZZ
    @given(case=strategy)
    def fuzz(case: schemathesis.Case[Any]) -> None:
        if mode is GenerationMode.POSITIVE:
            _same_cluster(case.body, str(credentials.cluster.id))
        response = case.call(base_url=url, headers=None if path == "/oauth/token" else headers)
        statuses.append(response.status_code)
        assert response.status_code < 500, response.text
        if response.status_code >= 400 and path != "/oauth/token":
            assert response.headers["content-type"] == ["application/problem+json"]

    fuzz()
    assert statuses
    if mode is GenerationMode.POSITIVE and path != "/oauth/token":
        assert 202 in statuses
