"""The cost allocation API on a real gateway over rollups folded by the ingest handler."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from store.database import Database
from store.repositories.clusters import ClusterRepository
from tests.integration.console.cost_seed import CPU_NODE, GPU_NODE, CostSeed, fold_cost_hours
from tests.integration.console.harness import get_json, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway

HOURS = 6


@pytest.fixture
async def cost_seed(database: Database, seeded: SeededTenant) -> CostSeed:
    """A fresh GPU cluster of the seeded tenant with six measured hours."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"gpu-cost-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    return await fold_cost_hours(
        database, seeded.tenant_id, cluster.id, now=datetime.now(UTC), hours=HOURS
    )


async def _viewer(gateway: RunningGateway, seeded: SeededTenant) -> str:
    return await sign_in(gateway, seeded.users["viewer"], PASSWORD)


def _range(seed: CostSeed) -> dict[str, str]:
    return {
        "start": seed.hours[0].isoformat(),
        "end": (seed.hours[-1] + timedelta(hours=1)).isoformat(),
        "cluster": str(seed.cluster_id),
    }


async def test_groups_plus_idle_equal_node_cost(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """By namespace: ml, batch and shop, and allocated + idle = node cost to the cent."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(console_gateway, "/v1/console/cost", token, **_range(cost_seed))
    assert response.status_code == 200
    body = response.json()
    assert {item["key"] for item in body["items"]} == {"ml", "batch", "shop"}
    assert body["allocated_usd"] + body["idle_usd"] == pytest.approx(
        body["node_cost_usd"], abs=0.011
    )
    by_key = {item["key"]: item for item in body["items"]}
    # Four quarter-GPU replicas hold one GPU; the 500 milli-GPU batch pod half of one; each hour.
    assert by_key["ml"]["gpu_hours"] == pytest.approx(1.0 * HOURS, rel=1e-3)
    assert by_key["batch"]["gpu_hours"] == pytest.approx(0.5 * HOURS, rel=1e-3)
    assert by_key["shop"]["gpu_usd"] == 0


async def test_group_by_label_sort_and_page(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """Grouped by the team label, sorted by GPU cost ascending, one group per page."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(
        console_gateway,
        "/v1/console/cost",
        token,
        **_range(cost_seed),
        group_by="label:team",
        sort="gpu",
        order="asc",
        size=1,
        page=3,
    )
    body = response.json()
    assert body["total"] == 3
    assert [item["key"] for item in body["items"]] == ["ml-platform"]


async def test_group_by_workload_filtered_by_label(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """Only pods labelled team=data: the embedder Deployment alone."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(
        console_gateway,
        "/v1/console/cost",
        token,
        **_range(cost_seed),
        group_by="workload",
        label="team=data",
    )
    assert [item["key"] for item in response.json()["items"]] == ["batch/Deployment/embedder"]


async def test_csv_download_has_every_group(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """The CSV is an attachment with a header row and one row per node."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(
        console_gateway, "/v1/console/cost.csv", token, **_range(cost_seed), group_by="node"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:5] == ["node", "cpu_usd", "memory_usd", "gpu_usd", "total_usd"]
    assert {row[0] for row in rows[1:]} == {GPU_NODE, CPU_NODE}


async def test_spend_series_is_hourly(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """One point per measured hour, oldest first, each with a monthly run rate."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(console_gateway, "/v1/console/cost/spend", token, **_range(cost_seed))
    points = response.json()["points"]
    assert [datetime.fromisoformat(p["hour"]) for p in points] == cost_seed.hours
    assert all(p["monthly_run_rate_usd"] > p["spend_usd"] > 0 for p in points)


async def test_node_gpu_view(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """The GPU node comes first with 1.5 GPUs held and its measured duty cycle."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(console_gateway, "/v1/console/cost/nodes", token, **_range(cost_seed))
    gpu, cpu = response.json()["items"]
    assert (gpu["node"], gpu["gpus"], cpu["node"]) == (GPU_NODE, 8, CPU_NODE)
    assert gpu["gpu_allocated"] == pytest.approx(1.5)
    assert gpu["gpu_duty"] == pytest.approx((4 * 0.4 + 0.03) / 5)
    assert cpu["gpu_duty"] is None


async def test_savings_spend_is_known_for_measured_past_days(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """Days after the first measured hour have a monthly spend, not null."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(console_gateway, "/v1/console/savings", token, days=2)
    points = response.json()["points"]
    measured = [
        p
        for p in points
        if datetime.fromisoformat(p["at"]) >= cost_seed.hours[0] + timedelta(hours=1)
    ]
    assert measured
    assert all(p["monthly_cost_usd"] is not None for p in measured)


async def test_bad_grouping_is_a_problem(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """An unknown group-by answers 400 with a problem document."""
    token = await _viewer(console_gateway, seeded)
    response = await get_json(console_gateway, "/v1/console/cost", token, group_by="colour")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_other_tenant_sees_no_cost(
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    seeded_other: SeededTenant,
    cost_seed: CostSeed,
) -> None:
    """Another tenant asking for this cluster's range gets no groups, no spend and no nodes."""
    token = await _viewer(console_gateway, seeded_other)
    params = _range(cost_seed)
    cost = (await get_json(console_gateway, "/v1/console/cost", token, **params)).json()
    spend = (await get_json(console_gateway, "/v1/console/cost/spend", token, **params)).json()
    nodes = (await get_json(console_gateway, "/v1/console/cost/nodes", token, **params)).json()
    assert (cost["items"], cost["node_cost_usd"]) == ([], 0)
    assert spend["points"] == []
    assert nodes["items"] == []


async def test_shared_idle_adds_up_to_node_cost(
    console_gateway: RunningGateway, seeded: SeededTenant, cost_seed: CostSeed
) -> None:
    """With idle shared by cost, groups plus their idle shares pay the whole node cost."""
    token = await _viewer(console_gateway, seeded)
    body = (
        await get_json(
            console_gateway, "/v1/console/cost", token, **_range(cost_seed), idle="share"
        )
    ).json()
    assert body["idle_shared"] is True
    paid = sum(item["total_usd"] + item["idle_share_usd"] for item in body["items"])
    assert paid == pytest.approx(body["node_cost_usd"], abs=0.01)
    only_ml = (
        await get_json(
            console_gateway,
            "/v1/console/cost",
            token,
            **_range(cost_seed),
            idle="share",
            namespace="ml",
        )
    ).json()
    (ml,) = only_ml["items"]
    by_key = {item["key"]: item for item in body["items"]}
    assert ml["idle_share_usd"] == pytest.approx(by_key["ml"]["idle_share_usd"], abs=1e-3)
