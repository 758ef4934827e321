"""The cost page in a real browser: bars, a sortable table, spend over time, GPU nodes, CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Page, expect

from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.tenants import TenantRepository
from tests.integration.console.cost_seed import GPU_NODE, fold_cost_hours
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway
from tests.integration.workers.test_idle_gpu_notices import LOOPBACK, receiving
from workers.idle_gpu_notices import IdleGpuNotifier

pytestmark = pytest.mark.browser


async def sign_in_page(context: BrowserContext, gateway: RunningGateway, email: str) -> Page:
    """A page signed in as `email`, on the overview."""
    page = await context.new_page()
    await page.goto(f"{gateway.url}/console/signin")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{gateway.url}/console")
    return page


async def test_cost_page_breaks_spend_down_and_downloads_csv(
    context: BrowserContext,
    console_gateway: RunningGateway,
    database: Database,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """Bars and rows per namespace, sorting by GPU, the GPU node's use, the spend line, the CSV."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"gpu-cost-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    await fold_cost_hours(database, seeded.tenant_id, cluster.id, now=datetime.now(UTC), hours=6)
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    await page.get_by_role("link", name="Cost", exact=True).click()
    await expect(page).to_have_url(f"{console_gateway.url}/console/cost")
    await expect(page.locator("[data-chart=cost-bars] rect.bar")).to_have_count(3)
    await expect(page.locator("[data-chart=gpu-duty] rect.bar")).to_have_count(1)
    rows = page.locator("table[data-table=cost] tbody tr")
    await expect(rows).to_have_count(3)
    await expect(page.locator("svg.chart-time polyline")).to_have_count(1)
    gpu_row = page.locator("table[data-table=gpu-nodes] tbody tr", has_text=GPU_NODE)
    await expect(gpu_row).to_contain_text("p4de.24xlarge")
    await expect(gpu_row).to_contain_text("1.50")
    await page.screenshot(path=screenshots / "cost.png", full_page=True)

    await page.get_by_role("link", name="GPU (held)").click()
    await expect(page).to_have_url(re.compile(r"sort=gpu&order=desc"))
    await expect(rows.first.locator("td").first).to_have_text("ml")
    await page.get_by_role("link", name="GPU (held)").click()
    await expect(page).to_have_url(re.compile(r"sort=gpu&order=asc"))
    await expect(rows.first.locator("td").first).to_have_text("shop")

    async with page.expect_download() as download_info:
        await page.locator("[data-download=cost-csv]").click()
    download = await download_info.value
    saved = await download.path()
    text = await asyncio.to_thread(Path(saved).read_text, encoding="utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "namespace"
    assert {row[0] for row in table[1:]} == {"ml", "batch", "shop"}

    await page.locator("select[name=group_by]").select_option("workload")
    await expect(page).to_have_url(re.compile(r"group_by=workload"))
    await expect(rows.first.locator("td").first).to_have_text(
        re.compile(
            r"^(ml/Deployment/llm-inference|batch/Deployment/embedder|shop/Deployment/checkout)$"
        )
    )
    await page.screenshot(path=screenshots / "cost-by-workload.png", full_page=True)
    assert errors == []


async def test_failed_idle_gpu_notice_is_visible(
    context: BrowserContext,
    console_gateway: RunningGateway,
    database: Database,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """An idle workload whose notice the webhook refused shows the failure on the cost page."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"idle-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    now = datetime.now(UTC)
    await fold_cost_hours(database, seeded.tenant_id, cluster.id, now=now, hours=4, duty=0.0)
    with receiving() as receiver:
        async with database.tenant(seeded.tenant_id) as session:
            await TenantRepository(session).update_settings({"webhook_url": receiver.url})
        receiver.status = 500
        await IdleGpuNotifier(LOOPBACK).run(database, seeded.tenant_id, now=now)
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    await page.goto(f"{console_gateway.url}/console/cost")
    row = page.locator("table[data-table=idle-gpus] tbody tr", has_text="Deployment/llm-inference")
    await expect(row.locator("[data-notice=failed]")).to_contain_text("500")
    await expect(row).to_contain_text("team=ml-platform")
    await expect(row).to_contain_text(GPU_NODE)
    await page.screenshot(path=screenshots / "cost-idle-gpus.png", full_page=True)


async def test_overview_counts_alternatives_once_and_says_so(
    context: BrowserContext, console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """The projected-savings card explains that alternatives count once; the list says its order."""
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    await expect(page.locator("[data-note=counted-once]")).to_contain_text("count once")
    await page.get_by_role("link", name="Recommendations", exact=True).click()
    await expect(page.locator(".page-head")).to_contain_text("Ranked by expected saving")
    await expect(page.locator("select[name=sort]")).to_have_value("-expected")


async def test_overview_spend_is_an_hourly_line(
    context: BrowserContext,
    console_gateway: RunningGateway,
    database: Database,
    seeded: SeededTenant,
) -> None:
    """With six measured hours, the 90-day spend chart is a line through each hour, not a dot."""
    async with database.tenant(seeded.tenant_id) as session:
        cluster = await ClusterRepository(session, seeded.tenant_id).create(
            f"spend-{seeded.tenant_id.hex[:6]}", provider="aws", region="eu-west-1"
        )
    await fold_cost_hours(database, seeded.tenant_id, cluster.id, now=datetime.now(UTC), hours=6)
    page = await sign_in_page(context, console_gateway, seeded.users["viewer"])
    spend = page.locator("svg.chart-time", has_text="Monthly spend (measured each hour)")
    await expect(spend).to_have_count(1)
    points = await spend.locator("polyline").get_attribute("points")
    assert points is not None
    assert len(points.split()) >= 12
