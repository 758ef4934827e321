"""Session-wide real services: PostgreSQL, Redis and a Kafka-API broker (ARCHITECTURE.md §3)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import psutil
import pytest
from sqlalchemy.engine import URL

from devstack.services import ServiceStack, ServiceUrls
from store.database import Database
from store.repositories.tenants import TenantView, create_tenant
from tests.support.databases import application_database, migrated_database
from tests.support.spans import RecordingExporter, install_recording_exporter


@pytest.fixture(scope="session", autouse=True)
def no_stray_processes() -> Iterator[None]:
    """Fail the session if any process a test started is still running at the end."""
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    yield
    strays = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
    _, alive = psutil.wait_procs(strays, timeout=10)
    assert not alive, f"processes left behind: {[(p.pid, p.name()) for p in alive]}"


@pytest.fixture(scope="session")
def services() -> Iterator[ServiceUrls]:
    """Every service, from the environment or embedded; embedded ones stop after the session."""
    with ServiceStack() as stack:
        yield stack.urls


@pytest.fixture(scope="session")
async def owner_database_url(services: ServiceUrls) -> AsyncIterator[URL]:
    """A fresh, migrated database for this session (schema owner's URL); dropped afterwards."""
    async with migrated_database(services.database_url, "slicewise_test") as url:
        yield url


@pytest.fixture(scope="session")
async def database(owner_database_url: URL) -> AsyncIterator[Database]:
    """The application's view of the database: the RLS-bound role."""
    async with application_database(owner_database_url, pool_size=5) as db:
        yield db


@pytest.fixture
async def tenant(database: Database) -> TenantView:
    """A new tenant for one test."""
    return await create_tenant(database, f"tenant-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def other_tenant(database: Database) -> TenantView:
    """A second tenant, for isolation tests."""
    return await create_tenant(database, f"other-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def span_exporter() -> RecordingExporter:
    """The session's in-memory span exporter (not recording between tests)."""
    return install_recording_exporter()


@pytest.fixture
def spans(span_exporter: RecordingExporter) -> Iterator[RecordingExporter]:
    """Every span that ends during the test."""
    span_exporter.clear()
    span_exporter.recording = True
    try:
        yield span_exporter
    finally:
        span_exporter.recording = False
        span_exporter.clear()
