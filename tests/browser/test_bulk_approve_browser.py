"""Bulk approval in a real browser: select, review once, approve; each gets its instruction."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from tests.browser.test_cost_browser import sign_in_page
from tests.integration.console.harness import bearer, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway

pytestmark = pytest.mark.browser


async def _approved(gateway: RunningGateway, seeded: SeededTenant) -> int:
    """How many right-sizings the tenant has approved, through the API."""
    token = await sign_in(gateway, seeded.users["viewer"], PASSWORD)
    async with gateway.client() as http:
        listed = await http.get(
            "/v1/console/recommendations",
            headers=bearer(token),
            params={"status": "approved", "kind": "rightsizing"},
        )
    total: int = listed.json()["total"]
    return total


async def test_two_selected_recommendations_are_approved_after_one_confirmation(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """Tick two rows, review them, confirm once: both approved with a signed instruction."""
    before = await _approved(console_gateway, seeded)
    page = await sign_in_page(context, console_gateway, seeded.users["approver"])
    await page.goto(f"{console_gateway.url}/console/recommendations?status=open&kind=rightsizing")
    boxes = page.locator("table.recommendations tbody input[type=checkbox]")
    await expect(boxes.first).to_be_visible()
    count = min(await boxes.count(), 2)
    for index in range(count):
        await boxes.nth(index).check()
    await page.locator("[data-action=review-bulk]").click()
    await expect(page.locator("table[data-table=bulk] tbody tr")).to_have_count(count)
    await page.screenshot(path=screenshots / "bulk-review.png", full_page=True)
    await page.locator("[data-action=confirm-bulk]").click()
    approved = page.locator("[data-outcome=approved]")
    await expect(approved).to_have_count(count)
    await page.screenshot(path=screenshots / "bulk-approved.png", full_page=True)
    assert await _approved(console_gateway, seeded) == before + count


async def test_viewers_get_no_selection_boxes(
    context: BrowserContext, console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A viewer cannot approve, so the list offers nothing to select."""
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    await page.goto(f"{console_gateway.url}/console/recommendations")
    await expect(page.locator("table.recommendations tbody tr").first).to_be_visible()
    await expect(page.locator("table.recommendations input[type=checkbox]")).to_have_count(0)
    await expect(page.locator("[data-action=review-bulk]")).to_have_count(0)
