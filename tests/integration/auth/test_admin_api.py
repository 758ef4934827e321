"""/v1/admin: scope `admin`, own tenant only, unless the caller belongs to the operator tenant."""

from __future__ import annotations

import uuid

from auth.provisioning import Provisioning
from store.repositories.tenants import TenantView
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import RunningGateway, fetch_token, serve

PASSWORD = "a long enough passphrase"


async def _login(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView, role: str
) -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    await provisioning.create_user(tenant.id, email, role, actor="test", password=PASSWORD)
    async with gateway.client() as http:
        response = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_admin_creates_a_cluster_whose_credentials_work(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """201 with the agent and executor credentials; the agent's buy an ingest token."""
    headers = await _login(gateway, provisioning, tenant, "admin")
    async with gateway.client() as http:
        created = await http.post(
            f"/v1/admin/tenants/{tenant.name}/clusters",
            json={"name": "prod-eu", "provider": "aws", "region": "eu-west-1"},
            headers=headers,
        )
        listed = await http.get(f"/v1/admin/tenants/{tenant.id}/clusters", headers=headers)
    body = created.json()
    token = await fetch_token(gateway, body["client_id"], body["client_secret"])
    executor = await fetch_token(
        gateway, body["executor_client_id"], body["executor_client_secret"]
    )
    assert created.status_code == 201
    assert [c["name"] for c in listed.json()] == ["prod-eu"]
    assert token
    assert executor


async def test_admin_creates_and_lists_users(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """A new viewer appears in the listing with no password and no linked identity."""
    headers = await _login(gateway, provisioning, tenant, "admin")
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    async with gateway.client() as http:
        created = await http.post(
            f"/v1/admin/tenants/{tenant.id}/users",
            json={"email": email, "role": "viewer"},
            headers=headers,
        )
        listed = await http.get(f"/v1/admin/tenants/{tenant.id}/users", headers=headers)
    assert created.status_code == 201
    assert {u["email"]: (u["role"], u["has_password"]) for u in listed.json()}[email] == (
        "viewer",
        False,
    )


async def test_unknown_role_is_422_naming_the_field(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """Request validation errors are problem documents naming the field."""
    headers = await _login(gateway, provisioning, tenant, "admin")
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/admin/tenants/{tenant.id}/users",
            json={"email": "x@example.com", "role": "owner"},
            headers=headers,
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [p["name"] for p in response.json()["invalid_params"]] == ["body.role"]


async def test_duplicate_cluster_name_is_409(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """Cluster names are unique per tenant."""
    headers = await _login(gateway, provisioning, tenant, "admin")
    async with gateway.client() as http:
        statuses = [
            (
                await http.post(
                    f"/v1/admin/tenants/{tenant.id}/clusters", json={"name": "c"}, headers=headers
                )
            ).status_code
            for _ in range(2)
        ]
    assert statuses == [201, 409]


async def test_viewer_is_refused_admin(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """A viewer's token lacks the admin scope: 403."""
    headers = await _login(gateway, provisioning, tenant, "viewer")
    async with gateway.client() as http:
        response = await http.get(f"/v1/admin/tenants/{tenant.id}/users", headers=headers)
    assert response.status_code == 403


async def test_admin_of_one_tenant_cannot_touch_another(
    gateway: RunningGateway,
    provisioning: Provisioning,
    tenant: TenantView,
    other_tenant: TenantView,
) -> None:
    """Another tenant's name or id in the path: 403, nothing created."""
    headers = await _login(gateway, provisioning, tenant, "admin")
    async with gateway.client() as http:
        by_name = await http.post(
            f"/v1/admin/tenants/{other_tenant.name}/clusters", json={"name": "x"}, headers=headers
        )
        by_id = await http.get(f"/v1/admin/tenants/{other_tenant.id}/users", headers=headers)
        create_tenant = await http.post(
            "/v1/admin/tenants", json={"name": f"t-{uuid.uuid4().hex[:6]}"}, headers=headers
        )
    assert (by_name.status_code, by_id.status_code, create_tenant.status_code) == (403, 403, 403)


async def test_operator_admin_creates_and_manages_other_tenants(
    make_settings: SettingsFactory, provisioning: Provisioning, tenant: TenantView
) -> None:
    """With operator_tenant set to the caller's tenant, tenants can be created and managed."""
    name = f"customer-{uuid.uuid4().hex[:6]}"
    async with serve(make_settings(operator_tenant=tenant.name)) as gateway:
        headers = await _login(gateway, provisioning, tenant, "admin")
        async with gateway.client() as http:
            created = await http.post("/v1/admin/tenants", json={"name": name}, headers=headers)
            cluster = await http.post(
                f"/v1/admin/tenants/{name}/clusters", json={"name": "edge"}, headers=headers
            )
            missing = await http.get("/v1/admin/tenants/no-such-tenant", headers=headers)
    assert created.status_code == 201
    assert created.json()["name"] == name
    assert cluster.status_code == 201
    assert missing.status_code == 404


async def test_address_of_another_tenant_gets_the_answer_of_a_fresh_one(
    gateway: RunningGateway,
    provisioning: Provisioning,
    tenant: TenantView,
    other_tenant: TenantView,
) -> None:
    """Creating a user whose address exists elsewhere answers exactly as for an unused one."""
    taken = f"taken-{uuid.uuid4().hex[:6]}@example.com"
    fresh = f"fresh-{uuid.uuid4().hex[:6]}@example.com"
    await provisioning.create_user(other_tenant.id, taken, "viewer", actor="test")
    headers = await _login(gateway, provisioning, tenant, "admin")
    path = f"/v1/admin/tenants/{tenant.id}/users"
    async with gateway.client() as http:
        answers = [
            await http.post(path, json={"email": email, "role": "viewer"}, headers=headers)
            for email in (taken, fresh)
        ]
    shapes = [(a.status_code, sorted(a.json())) for a in answers]
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == 201


async def test_address_already_in_the_own_tenant_is_409(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """Within its own tenant an admin is told the address is already a user's."""
    email = f"twice-{uuid.uuid4().hex[:6]}@example.com"
    headers = await _login(gateway, provisioning, tenant, "admin")
    path = f"/v1/admin/tenants/{tenant.id}/users"
    async with gateway.client() as http:
        statuses = [
            (await http.post(path, json={"email": email, "role": "viewer"}, headers=headers))
            for _ in range(2)
        ]
    assert [s.status_code for s in statuses] == [201, 409]
