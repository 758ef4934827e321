"""Fixtures of the console's integration and browser tests (imported by their conftests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from auth.provisioning import Provisioning
from store.database import Database
from store.repositories.tenants import TenantView
from tests.integration.console.harness import serve_console
from tests.integration.console.seed import SeededTenant, seed_tenant
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import RunningGateway


@pytest.fixture(scope="session")
async def console_gateway(make_settings: SettingsFactory) -> AsyncIterator[RunningGateway]:
    """One gateway serving the console for the session (tests use fresh tenants)."""
    async with serve_console(make_settings(login_failures_per_source=1000)) as running:
        yield running


@pytest.fixture
async def seeded(
    database: Database, provisioning: Provisioning, tenant: TenantView
) -> SeededTenant:
    """`tenant` with two clusters, live inventory, real usage and one recommendation per kind."""
    return await seed_tenant(
        database, provisioning, tenant.id, now=datetime.now(UTC), label=tenant.name[-6:]
    )


@pytest.fixture
async def seeded_other(
    database: Database, provisioning: Provisioning, other_tenant: TenantView
) -> SeededTenant:
    """The same for `other_tenant`."""
    return await seed_tenant(
        database, provisioning, other_tenant.id, now=datetime.now(UTC), label=other_tenant.name[-6:]
    )
