"""The recommendation API names each one's group, its alternatives and its expected saving."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from protocol.recommendation import Recommendation, RecommendationKind, SavingBasis
from recommender.savings.alternatives import saving_groups
from store.database import Database
from store.repositories.clusters import ClusterRepository
from tests.integration.console.harness import get_json, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway
from tests.integration.workers.test_saving_groups import store_advice, workload_recommendation


async def _store(database: Database, seeded: SeededTenant, recs: list[Recommendation]) -> None:
    await store_advice(database, seeded.tenant_id, recs, saving_groups(recs), now=datetime.now(UTC))


async def test_alternatives_share_a_group_and_the_list_ranks_by_expected_saving(
    console_gateway: RunningGateway, database: Database, seeded: SeededTenant
) -> None:
    """Spot ($500 at 90 %) ranks above GPU sharing ($800 at 50 %); each lists the other."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            "groups-api", provider="aws", region="us-east-1"
        )
    gpu = workload_recommendation(cluster, RecommendationKind.GPU_SHARING, 800.0, "web0", 0.5)
    spot = workload_recommendation(cluster, RecommendationKind.SPOT, 500.0, "web0", 0.9)
    resize = workload_recommendation(
        cluster,
        RecommendationKind.RIGHTSIZING,
        70.0,
        "web1",
        0.8,
        basis=SavingBasis.NODE_REMOVAL,
    )
    await _store(database, seeded, [gpu, spot, resize])
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    listing = (
        await get_json(console_gateway, "/v1/console/recommendations", token, cluster_id=cluster.id)
    ).json()
    assert listing["ranking"].startswith("expected saving")
    items = listing["items"]
    assert [i["id"] for i in items] == [
        str(spot.recommendation_id),
        str(gpu.recommendation_id),
        str(resize.recommendation_id),
    ]
    by_id = {i["id"]: i for i in items}
    assert by_id[str(spot.recommendation_id)]["expected_monthly_saving_usd"] == pytest.approx(450.0)
    assert (
        by_id[str(gpu.recommendation_id)]["group_id"]
        == by_id[str(spot.recommendation_id)]["group_id"]
    )
    assert (
        by_id[str(resize.recommendation_id)]["group_id"]
        != by_id[str(gpu.recommendation_id)]["group_id"]
    )
    assert by_id[str(resize.recommendation_id)]["saving_basis"] == "node_removal"
    detail = (
        await get_json(
            console_gateway, f"/v1/console/recommendations/{gpu.recommendation_id}", token
        )
    ).json()
    assert [a["id"] for a in detail["alternatives"]] == [str(spot.recommendation_id)]
    assert detail["summary"]["expected_monthly_saving_usd"] == pytest.approx(400.0)
