"""Evidence end to end: usage folded by the ingest workers is charted for every kind that has it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store.database import Database
from store.repositories.clusters import ClusterRepository
from tests.integration.console.harness import get_json, sign_in
from tests.integration.console.replayed_cluster import (
    DEMO,
    REPLAY_HOURS,
    REPLAY_PODS,
    best_of_each_kind,
    replay_and_analyse,
)
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway

KINDS_WITH_USAGE = ("rightsizing", "gpu-sharing", "autoscaling", "spot")

pytestmark = pytest.mark.skipif(bool(DEMO.missing()), reason="demo traces missing")


async def test_every_kind_with_usage_returns_its_usage_and_charts(
    console_gateway: RunningGateway, database: Database, seeded: SeededTenant
) -> None:
    """Rightsizing, the GPU plan, autoscaling and spot each carry decoded usage and charts."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            "evidence-api", provider="aws", region="us-east-1"
        )
    await replay_and_analyse(
        database,
        seeded.tenant_id,
        cluster.id,
        now=datetime.now(UTC),
        hours=REPLAY_HOURS,
        pods=REPLAY_PODS,
    )
    ids = await best_of_each_kind(database, seeded.tenant_id, cluster.id)
    assert set(KINDS_WITH_USAGE) <= set(ids), f"kinds analysed: {sorted(ids)}"
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    missing: dict[str, str] = {}
    for kind in KINDS_WITH_USAGE:
        response = await get_json(
            console_gateway, f"/v1/console/recommendations/{ids[kind]}", token
        )
        assert response.status_code == 200
        detail = response.json()
        charted = [c["title"] for c in detail["evidence_charts"] if c["charted"]]
        if not detail["usage"] or min(u["samples"] for u in detail["usage"]) <= 0:
            missing[kind] = "no usage"
        elif not any(title.startswith("CPU usage of") for title in charted):
            missing[kind] = f"no usage chart among {charted}"
    assert missing == {}


async def test_a_gpu_plan_charts_the_usage_of_the_workloads_it_moves(
    console_gateway: RunningGateway, database: Database, seeded: SeededTenant
) -> None:
    """The GPU plan names no single workload; its usage comes from the workloads it moves."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            "evidence-plan", provider="aws", region="us-east-1"
        )
    await replay_and_analyse(
        database,
        seeded.tenant_id,
        cluster.id,
        now=datetime.now(UTC),
        hours=REPLAY_HOURS,
        pods=REPLAY_PODS,
    )
    ids = await best_of_each_kind(database, seeded.tenant_id, cluster.id)
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    response = await get_json(
        console_gateway, f"/v1/console/recommendations/{ids['gpu-sharing']}", token
    )
    detail = response.json()
    assert detail["recommendation"]["workload"] is None
    moved = {
        f"{v['namespace']}/{v['name']}"
        for v in detail["recommendation"]["computed_from"]
        if v["kind"] in {"Deployment", "StatefulSet"}
    }
    charted = {u["workload"] for u in detail["usage"]}
    assert charted
    assert charted <= moved
