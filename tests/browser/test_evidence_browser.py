"""Usage evidence in a real browser: the charts of a rightsizing and of a GPU sharing plan."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from store.database import Database
from store.repositories.clusters import ClusterRepository
from tests.browser.test_cost_browser import sign_in_page
from tests.integration.console.replayed_cluster import (
    DEMO,
    REPLAY_HOURS,
    REPLAY_PODS,
    best_of_each_kind,
    replay_and_analyse,
)
from tests.integration.console.seed import SeededTenant
from tests.integration.gateway.harness import RunningGateway

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(DEMO.missing()), reason="demo traces missing"),
]


async def _distribution_charts(page: Page) -> list[str]:
    """Titles of the evidence panels that draw a usage distribution with at least one bar."""
    panels = page.locator("figure.evidence-panel").filter(
        has=page.locator("svg.chart-distribution rect.bar")
    )
    return [t.strip() for t in await panels.locator("figcaption").all_inner_texts()]


async def test_rightsizing_and_gpu_plan_pages_draw_usage_charts(
    context: BrowserContext,
    console_gateway: RunningGateway,
    database: Database,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """Both pages show CPU and memory-peak distributions drawn from the workers' stored usage."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            "evidence-browser", provider="aws", region="us-east-1"
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
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    for kind, shot in (
        ("rightsizing", "evidence-rightsizing.png"),
        ("gpu-sharing", "evidence-gpu-plan.png"),
    ):
        await page.goto(f"{console_gateway.url}/console/recommendations/{ids[kind]}")
        evidence = page.locator("section.panel", has=page.get_by_role("heading", name="Evidence"))
        await expect(evidence.locator("svg.chart-distribution rect.bar").first).to_be_visible()
        await expect(evidence.get_by_text("No usage recorded")).to_have_count(0)
        titles = await _distribution_charts(page)
        assert any(t.startswith("CPU usage of") for t in titles), titles
        assert any(t.startswith("Daily memory peaks of") for t in titles), titles
        await evidence.scroll_into_view_if_needed()
        await page.screenshot(path=screenshots / shot, full_page=True)
