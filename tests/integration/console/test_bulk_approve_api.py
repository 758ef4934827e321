"""Bulk approval through the API: each approved alone, failures reported, tenants apart."""

from __future__ import annotations

from tests.integration.console.harness import bearer, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway


async def test_each_is_approved_and_foreign_ids_fail_alone(
    console_gateway: RunningGateway, seeded: SeededTenant, seeded_other: SeededTenant
) -> None:
    """Two own recommendations are approved with instructions; another tenant's is not found."""
    token = await sign_in(console_gateway, seeded.users["approver"], PASSWORD)
    own = [str(seeded.recommendations["spot"]), str(seeded.recommendations["gpu"])]
    foreign = str(seeded_other.recommendations["spot"])
    async with console_gateway.client() as http:
        response = await http.post(
            "/v1/console/recommendations/approve",
            headers=bearer(token),
            json={"ids": [*own, foreign], "comment": "batch"},
        )
    assert response.status_code == 200
    body = response.json()
    assert body["approved"] == 2
    outcomes = {item["recommendation_id"]: item for item in body["items"]}
    assert all(outcomes[rid]["approved"] and outcomes[rid]["instruction_id"] for rid in own)
    assert outcomes[foreign]["approved"] is False
    assert outcomes[foreign]["error"]


async def test_viewers_cannot_bulk_approve(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A viewer's token is refused with 403."""
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    async with console_gateway.client() as http:
        response = await http.post(
            "/v1/console/recommendations/approve",
            headers=bearer(token),
            json={"ids": [str(seeded.recommendations["spot"])]},
        )
    assert response.status_code == 403
