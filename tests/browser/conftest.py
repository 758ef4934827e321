"""A headless Chromium for the session, a fresh browser context per test, screenshots on disk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.integration.console.fixtures import (
    console_gateway,
    seeded,
    seeded_other,
)
from tests.integration.gateway.fixtures import key_encryption_key, make_settings, provisioning

__all__ = [
    "console_gateway",
    "key_encryption_key",
    "make_settings",
    "provisioning",
    "seeded",
    "seeded_other",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (never a downloaded browser)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile (no cookies) at a laptop-sized viewport."""
    created = await browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where page screenshots are saved as test artefacts (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
