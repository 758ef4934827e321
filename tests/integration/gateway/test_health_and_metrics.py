"""Liveness, readiness (database, Redis, broker) and Prometheus metrics."""

from __future__ import annotations

import re

from auth.provisioning import ClusterCredentials
from devstack.process import free_port
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    gzip_json,
    json_headers,
    serve,
    small_snapshot,
)


async def test_healthz_and_readyz_are_ok(gateway: RunningGateway) -> None:
    """With every dependency up, both probes answer 200."""
    async with gateway.client() as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "kafka": "ok"}


async def test_readyz_is_503_when_redis_is_unreachable(make_settings: SettingsFactory) -> None:
    """Redis on a closed port: not ready, and the check says which dependency failed."""
    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with serve(settings) as gateway, gateway.client() as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unreachable"
    assert response.json()["checks"]["database"] == "ok"


def _sample(metrics: str, name: str, **labels: str) -> float:
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_route_template_and_refusals_by_reason(
    make_settings: SettingsFactory, credentials: ClusterCredentials
) -> None:
    """One accepted and one refused snapshot show up under the templated route and the reason."""
    async with serve(make_settings()) as gateway:
        token = await agent_token(gateway, credentials)
        path = f"/v1/clusters/{credentials.cluster.id}/snapshots"
        body = gzip_json(small_snapshot(credentials.cluster.id))
        async with gateway.client() as http:
            await http.post(path, content=body, headers=json_headers(token))
            await http.post(path, content=body, headers=json_headers("garbage"))
            metrics = (await http.get("/metrics")).text
    route = "/v1/clusters/{cluster_id}/snapshots"
    assert _sample(metrics, "slicewise_gateway_requests_total", route=route, status="202") == 1
    assert _sample(metrics, "slicewise_gateway_requests_total", route=route, status="401") == 1
    assert _sample(metrics, "slicewise_gateway_refusals_total", reason="token-malformed") == 1
    # The refused request's body was never read: only the accepted one counts as bytes in.
    assert _sample(metrics, "slicewise_gateway_request_body_bytes_total", route=route) == len(body)
    assert (
        _sample(
            metrics,
            "slicewise_gateway_kafka_produce_seconds_count",
            topic=gateway.settings.snapshots_topic,
        )
        == 1
    )
    assert (
        _sample(metrics, "slicewise_gateway_request_seconds_count", route=route, method="POST") == 2
    )
    assert (
        _sample(metrics, "slicewise_gateway_accepted_total", kind="snapshot", duplicate="false")
        == 1
    )
    # The agent's own encoding is read by the fast mirror, not by the model.
    assert _sample(metrics, "slicewise_gateway_validated_total", kind="snapshot", by="mirror") == 1
    assert _sample(metrics, "slicewise_gateway_validated_total", kind="snapshot", by="model") == 0
