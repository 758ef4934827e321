"""Tenant policy settings over a real gateway and PostgreSQL: who may change them, the audit
entry, and the webhook URL guard."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from auth.provisioning import Provisioning
from gateway.console.security import CSRF_FIELD, csrf_token
from recommender.cost.idle_gpus import IdleGpuPolicy
from store.database import Database
from store.repositories.audit import AuditRepository
from store.repositories.clusters import ClusterRepository
from store.repositories.tenant_policy import POLICY_UPDATED, TenantPolicyRepository
from store.repositories.tenants import TenantRepository, TenantView
from tests.integration.console.harness import bearer, get_json, sign_in
from tests.integration.console.seed import PASSWORD
from tests.integration.gateway.harness import RunningGateway
from workers.autoscaling_settings import prometheus_address
from workers.idle_gpu_notices import idle_policy

PUBLIC_HOOK = "https://8.8.8.8/services/T000/B000/secret-part"
TENANT_PROMETHEUS = "http://prometheus-operated.monitoring.svc:9090"
CLUSTER_PROMETHEUS = "https://thanos-query.observability.svc.cluster.local:10902"


@dataclass(frozen=True)
class PolicyTenant:
    """A tenant with one cluster and a user of each role."""

    tenant_id: uuid.UUID
    cluster_id: uuid.UUID
    users: dict[str, str]


async def _policy_tenant(
    database: Database, provisioning: Provisioning, tenant: TenantView
) -> PolicyTenant:
    users = {}
    for role in ("viewer", "approver", "admin"):
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        await provisioning.create_user(tenant.id, email, role, actor="seed", password=PASSWORD)
        users[role] = email
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(
            f"prod-{uuid.uuid4().hex[:6]}", provider="aws", region="eu-west-1"
        )
    return PolicyTenant(tenant.id, cluster.id, users)


@pytest.fixture
async def acme(database: Database, provisioning: Provisioning, tenant: TenantView) -> PolicyTenant:
    """The tenant whose policy the tests change."""
    return await _policy_tenant(database, provisioning, tenant)


@pytest.fixture
async def globex(
    database: Database, provisioning: Provisioning, other_tenant: TenantView
) -> PolicyTenant:
    """Another tenant, for isolation."""
    return await _policy_tenant(database, provisioning, other_tenant)


async def _patch(
    gateway: RunningGateway, owner: PolicyTenant, role: str, body: dict[str, Any]
) -> httpx.Response:
    token = await sign_in(gateway, owner.users[role], PASSWORD)
    async with gateway.client() as http:
        return await http.patch("/v1/console/policy", headers=bearer(token), json=body)


async def _stored(database: Database, owner: PolicyTenant) -> Any:
    async with database.tenant(owner.tenant_id) as session:
        return await TenantPolicyRepository(session, owner.tenant_id).get()


async def test_admin_changes_the_policy_through_the_api(
    console_gateway: RunningGateway, acme: PolicyTenant
) -> None:
    """An admin's PATCH is answered with, and GET then returns, the new settings."""
    body = {
        "auto_approve_clusters": [str(acme.cluster_id)],
        "webhook_url": PUBLIC_HOOK,
        "notify_min_saving_usd": 250,
    }
    changed = await _patch(console_gateway, acme, "admin", body)
    token = await sign_in(console_gateway, acme.users["admin"], PASSWORD)
    read = await get_json(console_gateway, "/v1/console/policy", token)
    expected = {
        "auto_approve_all_clusters": False,
        **body,
        "notify_min_saving_usd": 250.0,
        "idle_gpu_threshold": 0.05,
        "idle_gpu_hours": 4,
        "prometheus_server_address": None,
        "prometheus_server_addresses": {},
    }
    assert (changed.status_code, changed.json()) == (200, expected)
    assert read.json() == expected


async def test_a_policy_change_is_audited_without_the_webhook_secret(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """The audit entry names the admin and each change; the webhook appears as host only."""
    await _patch(console_gateway, acme, "admin", {"webhook_url": PUBLIC_HOOK})
    async with database.tenant(acme.tenant_id) as session:
        (entry,) = await AuditRepository(session, acme.tenant_id).list(
            subject_id=str(acme.tenant_id)
        )
    assert (entry.actor, entry.action) == (acme.users["admin"], POLICY_UPDATED)
    assert entry.details == {"webhook_url": {"from": None, "to": "https://8.8.8.8/…"}}


async def test_idle_gpu_settings_are_audited_and_read_by_the_idle_gpu_check(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """10 % for 6 hours: answered, audited old to new, and the workers' policy for the tenant."""
    changed = await _patch(
        console_gateway, acme, "admin", {"idle_gpu_threshold": 0.1, "idle_gpu_hours": 6}
    )
    assert changed.status_code == 200
    assert (changed.json()["idle_gpu_threshold"], changed.json()["idle_gpu_hours"]) == (0.1, 6)
    async with database.tenant(acme.tenant_id) as session:
        (entry,) = await AuditRepository(session, acme.tenant_id).list(
            subject_id=str(acme.tenant_id)
        )
        settings = (await TenantRepository(session).current()).settings
    assert entry.details == {
        "idle_gpu_threshold": {"from": 0.05, "to": 0.1},
        "idle_gpu_hours": {"from": 4, "to": 6},
    }
    assert idle_policy(settings) == IdleGpuPolicy(threshold=0.1, hours=6)


@pytest.mark.parametrize(
    "body", [{"idle_gpu_threshold": 1.5}, {"idle_gpu_threshold": 0}, {"idle_gpu_hours": 500}]
)
async def test_idle_gpu_settings_out_of_range_are_refused(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database, body: dict[str, Any]
) -> None:
    """A threshold outside 0-100 % or a window beyond a week is a 422; nothing is stored."""
    response = await _patch(console_gateway, acme, "admin", body)
    assert response.status_code == 422
    stored = await _stored(database, acme)
    assert (stored.idle_gpu_threshold, stored.idle_gpu_hours) == (0.05, 4)


async def test_prometheus_addresses_are_answered_audited_and_read_by_the_workers(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """A tenant-wide and a per-cluster address: answered, audited, and what the analysis reads."""
    body = {
        "prometheus_server_address": TENANT_PROMETHEUS,
        "prometheus_server_addresses": {str(acme.cluster_id): CLUSTER_PROMETHEUS},
    }
    changed = await _patch(console_gateway, acme, "admin", body)
    assert changed.status_code == 200
    assert {k: changed.json()[k] for k in body} == body
    async with database.tenant(acme.tenant_id) as session:
        (entry,) = await AuditRepository(session, acme.tenant_id).list(
            subject_id=str(acme.tenant_id)
        )
        settings = (await TenantRepository(session).current()).settings
    assert entry.details == {
        "prometheus_server_address": {"from": None, "to": TENANT_PROMETHEUS},
        "prometheus_server_addresses": {
            "from": {},
            "to": {str(acme.cluster_id): CLUSTER_PROMETHEUS},
        },
    }
    assert prometheus_address(settings, acme.cluster_id) == CLUSTER_PROMETHEUS
    assert prometheus_address(settings, uuid.uuid4()) == TENANT_PROMETHEUS


async def test_an_empty_prometheus_address_removes_it(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """Setting `""` after an address leaves the recommender's default in force."""
    await _patch(console_gateway, acme, "admin", {"prometheus_server_address": TENANT_PROMETHEUS})
    cleared = await _patch(console_gateway, acme, "admin", {"prometheus_server_address": ""})
    assert cleared.json()["prometheus_server_address"] is None
    assert (await _stored(database, acme)).prometheus_server_address is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("prometheus:9090", "scheme"),
        ("ftp://prometheus.monitoring.svc:9090", "scheme"),
        ("http://admin:hunter2@prometheus.monitoring.svc:9090", "credentials"),
        ("http://", "malformed"),
        ("http://prometheus.monitoring.svc:9090/?query=up", "malformed"),
        ("http://prometheus.monitoring.svc:99999", "malformed"),
    ],
)
async def test_malformed_prometheus_addresses_are_refused(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database, url: str, reason: str
) -> None:
    """Not an http(s) URL of a host, or one with credentials: a 422 naming why, nothing stored."""
    response = await _patch(console_gateway, acme, "admin", {"prometheus_server_address": url})
    assert response.status_code == 422
    assert response.json()["invalid_params"] == [
        {"name": "prometheus_server_address", "reason": reason}
    ]
    assert (await _stored(database, acme)).prometheus_server_address is None


async def test_a_prometheus_address_for_another_tenants_cluster_is_refused(
    console_gateway: RunningGateway, acme: PolicyTenant, globex: PolicyTenant, database: Database
) -> None:
    """A per-cluster address must name one of the tenant's own clusters."""
    body = {"prometheus_server_addresses": {str(acme.cluster_id): CLUSTER_PROMETHEUS}}
    response = await _patch(console_gateway, globex, "admin", body)
    assert response.status_code == 422
    assert response.json()["invalid_params"] == [
        {"name": "prometheus_server_addresses", "reason": "unknown-cluster"}
    ]
    assert (await _stored(database, globex)).prometheus_server_addresses == {}


@pytest.mark.parametrize("role", ["viewer", "approver"])
async def test_viewers_and_approvers_cannot_change_the_policy(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database, role: str
) -> None:
    """Without the admin role a PATCH is a 403 problem and nothing changes."""
    response = await _patch(console_gateway, acme, role, {"auto_approve_all_clusters": True})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert (await _stored(database, acme)).auto_approve_all_clusters is False


async def test_another_tenants_admin_cannot_change_the_policy(
    console_gateway: RunningGateway, acme: PolicyTenant, globex: PolicyTenant, database: Database
) -> None:
    """Naming another tenant's cluster is refused, and that tenant's policy stays as it was."""
    response = await _patch(
        console_gateway, globex, "admin", {"auto_approve_clusters": [str(acme.cluster_id)]}
    )
    assert response.status_code == 422
    assert response.json()["invalid_params"] == [
        {"name": "auto_approve_clusters", "reason": "unknown-cluster"}
    ]
    assert (await _stored(database, acme)).auto_approve_clusters == frozenset()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9000/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://169.254.3.4/hook", "link-local"),
        ("https://10.0.0.5/hook", "private"),
        ("https://[fd00:ec2::254]/", "metadata"),
    ],
)
async def test_internal_webhook_urls_are_refused(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database, url: str, reason: str
) -> None:
    """Loopback, link-local, private and metadata targets (after DNS) are a 422, not stored."""
    response = await _patch(console_gateway, acme, "admin", {"webhook_url": url})
    assert response.status_code == 422
    assert response.json()["invalid_params"] == [{"name": "webhook_url", "reason": reason}]
    assert (await _stored(database, acme)).webhook_url is None


async def test_admin_saves_the_settings_page(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """The settings form, posted with its CSRF token, stores the policy and redirects."""
    token = await sign_in(console_gateway, acme.users["admin"], PASSWORD)
    form = {
        CSRF_FIELD: csrf_token(token),
        "clusters": str(acme.cluster_id),
        "webhook_url": PUBLIC_HOOK,
        "notify_min_saving_usd": "750",
        "idle_gpu_threshold_percent": "2.5",
        "idle_gpu_hours": "8",
    }
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        page = await http.get("/console/settings")
        saved = await http.post("/console/settings", data=form)
    stored = await _stored(database, acme)
    assert page.status_code == 200
    assert (saved.status_code, saved.headers["location"]) == (303, "/console/settings?done=saved")
    assert stored.auto_approve_clusters == frozenset({acme.cluster_id})
    assert (stored.webhook_url, stored.notify_min_saving_usd) == (PUBLIC_HOOK, 750.0)
    assert (stored.idle_gpu_threshold, stored.idle_gpu_hours) == (0.025, 8)


async def test_admin_sets_prometheus_addresses_on_the_settings_page(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """The form's tenant-wide and per-cluster addresses are stored; the page shows them back."""
    token = await sign_in(console_gateway, acme.users["admin"], PASSWORD)
    form = {
        CSRF_FIELD: csrf_token(token),
        "prometheus_server_address": TENANT_PROMETHEUS,
        "prometheus_cluster": str(acme.cluster_id),
        "prometheus_cluster_address": CLUSTER_PROMETHEUS,
    }
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        saved = await http.post("/console/settings", data=form)
        page = await http.get("/console/settings")
    stored = await _stored(database, acme)
    assert saved.status_code == 303
    assert stored.prometheus_server_address == TENANT_PROMETHEUS
    assert stored.prometheus_server_addresses == {acme.cluster_id: CLUSTER_PROMETHEUS}
    assert f'value="{CLUSTER_PROMETHEUS}"' in page.text


async def test_the_settings_page_refuses_a_prometheus_address_with_credentials(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """A per-cluster address carrying a password is shown as an error and not stored."""
    token = await sign_in(console_gateway, acme.users["admin"], PASSWORD)
    form = {
        CSRF_FIELD: csrf_token(token),
        "prometheus_cluster": str(acme.cluster_id),
        "prometheus_cluster_address": "http://admin:hunter2@prometheus:9090",
    }
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        refused = await http.post("/console/settings", data=form)
    assert refused.status_code == 422
    assert "not a Prometheus address" in refused.text
    assert "hunter2" not in refused.text
    assert (await _stored(database, acme)).prometheus_server_addresses == {}


async def test_the_settings_page_refuses_an_internal_webhook(
    console_gateway: RunningGateway, acme: PolicyTenant, database: Database
) -> None:
    """A metadata URL on the form is shown as an error and not stored."""
    token = await sign_in(console_gateway, acme.users["admin"], PASSWORD)
    form = {CSRF_FIELD: csrf_token(token), "webhook_url": "http://169.254.169.254/"}
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        refused = await http.post("/console/settings", data=form)
    assert refused.status_code == 422
    assert "metadata address" in refused.text
    assert (await _stored(database, acme)).webhook_url is None


async def test_the_settings_page_is_for_admins_only(
    console_gateway: RunningGateway, acme: PolicyTenant
) -> None:
    """An approver gets the not-allowed page."""
    token = await sign_in(console_gateway, acme.users["approver"], PASSWORD)
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        page = await http.get("/console/settings")
    assert page.status_code == 403


async def test_the_audit_page_shows_a_policy_change_as_old_to_new(
    console_gateway: RunningGateway, acme: PolicyTenant
) -> None:
    """The audit log page renders each changed setting as its old and new value."""
    await _patch(console_gateway, acme, "admin", {"notify_min_saving_usd": 900})
    token = await sign_in(console_gateway, acme.users["admin"], PASSWORD)
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        page = await http.get("/console/audit")
    assert POLICY_UPDATED in page.text
    assert "500.0 → 900.0" in page.text
