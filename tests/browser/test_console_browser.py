"""The console in a real browser: sign in, filter, read the evidence, approve; roles and tenants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Dialog, Page, expect

from tests.integration.console.seed import PASSWORD, XSS_NAME, SeededTenant
from tests.integration.gateway.harness import RunningGateway

pytestmark = pytest.mark.browser


async def _sign_in(context: BrowserContext, gateway: RunningGateway, email: str) -> Page:
    page = await context.new_page()
    await page.goto(f"{gateway.url}/console")
    await expect(page).to_have_url(re.compile(r"/console/signin\?next=/console$"))
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{gateway.url}/console")
    return page


def _collect_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    return errors


async def test_sign_in_lands_on_the_overview(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """After signing in the overview shows spend, projected savings and both clusters."""
    signin = await context.new_page()
    await signin.goto(f"{console_gateway.url}/console/signin")
    await signin.screenshot(path=screenshots / "signin.png")
    await signin.close()
    page = await _sign_in(context, console_gateway, seeded.users["approver"])
    await expect(page.locator("[data-figure=spend]")).to_have_text("$138,270")
    await expect(page.get_by_role("link", name=seeded.clusters["prod"].name)).to_be_visible()
    await expect(page.locator("svg.chart-time polyline")).to_have_count(3)
    await page.screenshot(path=screenshots / "overview.png", full_page=True)


async def test_filtering_by_kind_lists_only_that_kind(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """Choosing `Spot` in the kind menu reloads the list with the one spot recommendation."""
    page = await _sign_in(context, console_gateway, seeded.users["viewer"])
    await page.get_by_role("link", name="Recommendations", exact=True).click()
    await expect(page.locator("table.recommendations tbody tr")).to_have_count(5)
    await page.screenshot(path=screenshots / "recommendations.png", full_page=True)
    await page.locator("select[name=kind]").select_option("spot")
    await expect(page).to_have_url(re.compile(r"kind=spot"))
    rows = page.locator("table.recommendations tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Run batch/report-worker on spot capacity")


async def test_recommendation_page_shows_charts_and_diff(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """The right-sizing page draws the CPU histogram with its markers and the changed lines."""
    page = await _sign_in(context, console_gateway, seeded.users["viewer"])
    errors = _collect_errors(page)
    await page.goto(f"{console_gateway.url}/console/recommendations?status=open&sort=saving")
    await page.get_by_role("link", name="Shrink requests of shop/checkout-api").click()
    cpu_chart = page.locator("figure", has_text="CPU usage of container api").locator("svg")
    await expect(cpu_chart).to_be_visible()
    assert await cpu_chart.locator("rect.bar").count() > 10
    await expect(cpu_chart.locator("text", has_text="request now")).to_be_visible()
    await expect(cpu_chart.locator("text", has_text="proposed")).to_be_visible()
    changed = page.locator("table.diff tr.diff-changed")
    await expect(changed.first.locator("td.left")).to_have_text("            cpu: '2'")
    await expect(changed.first.locator("td.right")).to_have_text(re.compile(r"cpu: \d+m$"))
    await page.screenshot(path=screenshots / "recommendation-rightsizing.png", full_page=True)
    assert errors == []


async def test_gpu_and_spot_evidence_are_charted(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """GPU utilisation percentiles and the interruption bucket are drawn, not just listed."""
    page = await _sign_in(context, console_gateway, seeded.users["viewer"])
    await page.goto(
        f"{console_gateway.url}/console/recommendations/{seeded.recommendations['gpu']}"
    )
    utilisation = page.locator("figure", has_text="GPU utilization").locator("svg rect.bar")
    await expect(utilisation).to_have_count(3)
    await page.screenshot(path=screenshots / "recommendation-gpu.png", full_page=True)
    await page.goto(
        f"{console_gateway.url}/console/recommendations/{seeded.recommendations['spot']}"
    )
    selected = page.locator("figure", has_text="Interruption bucket").locator("rect.step-selected")
    await expect(selected).to_have_count(1)
    await page.screenshot(path=screenshots / "recommendation-spot.png", full_page=True)


async def test_approving_creates_the_instruction(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """Approve, confirm, and the instruction appears on the page and in the instructions list."""
    page = await _sign_in(context, console_gateway, seeded.users["approver"])
    await page.goto(
        f"{console_gateway.url}/console/recommendations/{seeded.recommendations['gpu']}"
    )
    await expect(page.locator("tr[data-instruction]")).to_have_count(0)
    await page.get_by_text("Approve…").click()
    await page.locator("[data-decision=approve] textarea").fill("MIG slices are enough")
    await page.get_by_role("button", name="Confirm approval").click()
    await expect(page.get_by_role("status")).to_contain_text("Approved.")
    await expect(page.locator("tr[data-instruction]")).to_have_count(1)
    await expect(page.locator(".badges .status-approved")).to_be_visible()
    await page.screenshot(path=screenshots / "recommendation-approved.png", full_page=True)
    await page.get_by_role("link", name="Instructions", exact=True).click()
    await expect(
        page.locator("tr[data-instruction]", has_text="Share A100s for ml/llm-inference")
    ).to_have_count(1)
    await page.screenshot(path=screenshots / "instructions.png", full_page=True)
    await page.get_by_role("link", name="Audit log").click()
    approval = page.locator("tbody tr", has_text="recommendation.approved").filter(
        has_text="Share A100s for ml/llm-inference"
    )
    await expect(approval).to_have_count(1)
    await expect(page.locator("tbody tr").first).to_contain_text("instruction.issued")
    await page.screenshot(path=screenshots / "audit.png", full_page=True)


async def test_viewer_cannot_approve(
    context: BrowserContext, console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A viewer sees the recommendation but no decision controls."""
    page = await _sign_in(context, console_gateway, seeded.users["viewer"])
    await page.goto(
        f"{console_gateway.url}/console/recommendations/{seeded.recommendations['gpu']}"
    )
    await expect(page.locator("[data-role-note]")).to_be_visible()
    await expect(page.get_by_text("Approve…")).to_have_count(0)
    await expect(page.get_by_role("button", name="Confirm approval")).to_have_count(0)


async def test_tenant_b_sees_nothing_of_tenant_a(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    seeded_other: SeededTenant,
) -> None:
    """B's overview and list show only B's clusters; A's recommendation page is not found."""
    page = await _sign_in(context, console_gateway, seeded_other.users["admin"])
    await expect(page.get_by_text(seeded_other.clusters["prod"].name)).to_be_visible()
    await expect(page.get_by_text(seeded.clusters["prod"].name)).to_have_count(0)
    await page.goto(f"{console_gateway.url}/console/recommendations?status=")
    body = await page.locator("main").inner_text()
    assert seeded.clusters["prod"].name not in body
    assert seeded.clusters["ml"].name not in body
    response = await page.goto(
        f"{console_gateway.url}/console/recommendations/{seeded.recommendations['gpu']}"
    )
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_text("There is no such recommendation.")).to_be_visible()


async def test_script_tag_workload_name_is_only_text(
    context: BrowserContext,
    console_gateway: RunningGateway,
    seeded: SeededTenant,
    screenshots: Path,
) -> None:
    """A workload named `<script>alert(1)</script>` shows as text and never runs, anywhere."""
    page = await _sign_in(context, console_gateway, seeded.users["approver"])
    dialogs: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    rec = seeded.recommendations["xss"]
    await page.goto(f"{console_gateway.url}/console/recommendations")
    await expect(page.get_by_text(f"Right-size web/{XSS_NAME}", exact=True)).to_be_visible()
    await page.goto(f"{console_gateway.url}/console/recommendations/{rec}")
    await expect(page.locator("h1")).to_have_text(f"Right-size web/{XSS_NAME}")
    await expect(page.locator("table.diff").first).to_contain_text(f"name: {XSS_NAME}")
    await expect(page.locator("pre.yaml").first).to_contain_text(XSS_NAME)
    await page.screenshot(path=screenshots / "recommendation-hostile-name.png", full_page=True)
    await page.get_by_text("Snooze…").click()
    await page.get_by_role("button", name="Confirm snooze").click()
    await expect(page.get_by_role("status")).to_contain_text("Snoozed.")
    await page.goto(f"{console_gateway.url}/console/audit")
    await expect(page.get_by_role("link", name=f"Right-size web/{XSS_NAME}")).to_be_visible()
    await page.goto(f"{console_gateway.url}/console/recommendations?status=snoozed")
    await expect(page.get_by_text(f"Deployment web/{XSS_NAME}")).to_be_visible()
    assert dialogs == []
    assert await page.evaluate("() => document.querySelectorAll('main script').length") == 0
