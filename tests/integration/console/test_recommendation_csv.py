"""The recommendation list as CSV: same filters and order as the list, spreadsheet-safe cells."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

from gateway.console.api.recommendation_csv import COLUMNS, recommendations_csv
from store.repositories.console_queries import RecommendationSummary
from tests.integration.console.harness import get_json, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway


async def test_csv_lists_what_the_list_shows_in_its_order(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Every open recommendation, one row each, in the list's order (expected saving)."""
    token = await sign_in(console_gateway, seeded.users["viewer"], PASSWORD)
    listed = (
        await get_json(console_gateway, "/v1/console/recommendations", token, status="open")
    ).json()
    response = await get_json(
        console_gateway, "/v1/console/recommendations.csv", token, status="open"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    assert [row[0] for row in rows[1:]] == [item["id"] for item in listed["items"]]


async def test_csv_of_another_tenant_is_empty(
    console_gateway: RunningGateway, seeded: SeededTenant, seeded_other: SeededTenant
) -> None:
    """A tenant's download never holds another tenant's recommendations."""
    token = await sign_in(console_gateway, seeded_other.users["viewer"], PASSWORD)
    response = await get_json(console_gateway, "/v1/console/recommendations.csv", token)
    ids = {row[0] for row in csv.reader(io.StringIO(response.text))}
    assert not ids & {str(rid) for rid in seeded.recommendations.values()}


def test_formula_like_cells_are_neutralised() -> None:
    """A title starting with '=' is written with a leading quote, so no spreadsheet runs it."""
    now = datetime.now(UTC)
    item = RecommendationSummary(
        id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        cluster_name="prod",
        kind="rightsizing",
        status="open",
        monthly_saving_usd=12.5,
        title='=HYPERLINK("http://evil")',
        risk="low",
        target="shop/web",
        created_at=now,
        updated_at=now,
        decided_by=None,
        decided_at=None,
        snoozed_until=None,
    )
    (_, row) = list(csv.reader(io.StringIO(recommendations_csv([item]))))
    assert row[3] == '\'=HYPERLINK("http://evil")'
    assert row[5] == "12.50"
