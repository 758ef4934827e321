"""Fixtures shared by the gateway and auth integration tests (imported by their conftests)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.engine import URL

from auth.hashing import SecretHasher
from auth.provisioning import ClusterCredentials, Provisioning
from auth.sealing import KeyEncryptionKey
from devstack.services import ServiceUrls
from gateway.settings import GatewaySettings
from store.database import Database
from store.repositories.tenants import TenantView
from store.roles import DEFAULT_APP_ROLE, app_url
from tests.integration.gateway.harness import RunningGateway, serve

ISSUER = "https://gateway.slicewise.test"
AUDIENCE = "slicewise-api"

SettingsFactory = Callable[..., GatewaySettings]


@pytest.fixture(scope="session")
def key_encryption_key() -> str:
    """One key-encryption key for every gateway of the session (they share signing keys)."""
    return KeyEncryptionKey.generate_base64()


@pytest.fixture(scope="session")
def make_settings(
    services: ServiceUrls, owner_database_url: URL, key_encryption_key: str
) -> SettingsFactory:
    """Gateway settings on the session's services, with topics of their own; override freely."""
    database_url = app_url(owner_database_url, DEFAULT_APP_ROLE).render_as_string(
        hide_password=False
    )

    def make(**overrides: object) -> GatewaySettings:
        suffix = uuid.uuid4().hex[:8]
        values: dict[str, object] = {
            "database_url": database_url,
            "database_pool_size": 2,
            "redis_url": services.redis_url,
            "redis_key_prefix": f"test-{suffix}:",
            "kafka_bootstrap": services.kafka_bootstrap,
            "snapshots_topic": f"test.snapshots.{suffix}",
            "spot_notices_topic": f"test.spot-notices.{suffix}",
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "key_encryption_key": key_encryption_key,
            "session_cookie_secure": False,
            "log_json": False,
            # Many apps share the test process: leave its garbage collector as it is.
            "settle_heap_after_start": False,
        }
        values.update(overrides)
        return GatewaySettings.model_validate(values)

    return make


@pytest.fixture(scope="session")
async def gateway(make_settings: SettingsFactory) -> AsyncIterator[RunningGateway]:
    """One gateway for the session (tests use fresh tenants, so limits do not interfere)."""
    async with serve(make_settings()) as running:
        yield running


@pytest.fixture(scope="session")
def provisioning(database: Database) -> Provisioning:
    """Administrative creation of clusters, clients and users."""
    return Provisioning(database, SecretHasher())


@pytest.fixture
async def credentials(provisioning: Provisioning, tenant: TenantView) -> ClusterCredentials:
    """A cluster of `tenant` with its agent's and executor's credentials."""
    return await provisioning.create_cluster(tenant.id, f"a-{uuid.uuid4().hex[:6]}", actor="test")


@pytest.fixture
async def sibling_credentials(provisioning: Provisioning, tenant: TenantView) -> ClusterCredentials:
    """A second cluster of the same tenant."""
    return await provisioning.create_cluster(tenant.id, f"b-{uuid.uuid4().hex[:6]}", actor="test")


@pytest.fixture
async def foreign_credentials(
    provisioning: Provisioning, other_tenant: TenantView
) -> ClusterCredentials:
    """A cluster of another tenant."""
    return await provisioning.create_cluster(
        other_tenant.id, f"x-{uuid.uuid4().hex[:6]}", actor="test"
    )
