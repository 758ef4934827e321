"""Cluster and node pages in a real browser: health, GPU map, nodes, spend, what ran where."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from store.database import Database
from store.repositories.clusters import ClusterRepository
from tests.browser.test_cost_browser import sign_in_page
from tests.integration.console.cost_seed import CPU_NODE, GPU_NODE, fold_cost_hours
from tests.integration.console.seed import SeededTenant
from tests.integration.gateway.harness import RunningGateway

pytestmark = pytest.mark.browser


async def test_cluster_page_maps_gpus_and_leads_to_the_node(
    context: BrowserContext,
    console_gateway: RunningGateway,
    database: Database,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """The GPU map tile shows 1.5 of 8 GPUs held; the node page lists what ran there."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"gpu-map-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    await fold_cost_hours(database, seeded.tenant_id, cluster.id, now=datetime.now(UTC), hours=6)
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    await page.goto(f"{console_gateway.url}/console/clusters/{cluster.id}")
    await expect(page.locator("[data-figure=nodes]")).to_have_text("2")
    tile = page.locator("[data-map=gpu] li")
    await expect(tile).to_have_count(1)
    await expect(tile).to_contain_text("1.5 / 8")
    await expect(page.locator("table[data-table=nodes] tbody tr")).to_have_count(2)
    await expect(page.locator("table[data-table=nodes]")).to_contain_text(CPU_NODE)
    await page.screenshot(path=screenshots / "cluster.png", full_page=True)
    await tile.locator("a").click()
    await expect(page.locator("h1")).to_have_text(GPU_NODE)
    workloads = page.locator("table[data-table=node-workloads] tbody tr")
    await expect(workloads).to_have_count(2)
    await expect(page.locator("table[data-table=node-pods] tbody tr")).to_have_count(5)
    await page.screenshot(path=screenshots / "node.png", full_page=True)


async def test_another_tenants_cluster_is_not_found(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    seeded_other: SeededTenant,
) -> None:
    """Opening another tenant's cluster page answers 404."""
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    theirs = seeded_other.clusters["prod"].id
    response = await page.goto(f"{console_gateway.url}/console/clusters/{theirs}")
    assert response is not None
    assert response.status == 404


async def test_instruction_page_shows_timeline_actions_and_envelope(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """From the instructions list to one applied instruction: outcome, its action, the envelope."""
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    await page.goto(f"{console_gateway.url}/console/instructions")
    await page.locator("[data-link=instruction]").first.click()
    await expect(page.locator("[data-cell=outcome]")).to_contain_text("applied")
    await expect(page.locator("table[data-table=actions] tbody tr")).to_have_count(1)
    await expect(page.locator("pre[data-copyable]")).to_contain_text('"signature"')
    await page.screenshot(path=screenshots / "instruction.png", full_page=True)
