"""Console sign-in with e-mail and password."""

from __future__ import annotations

import uuid

import pytest

from auth.provisioning import ClusterCredentials, Provisioning
from store.repositories.tenants import TenantView
from tests.integration.gateway.harness import RunningGateway, agent_token

PASSWORD = "a long enough passphrase"


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


async def test_right_password_returns_a_token_and_sets_the_cookie(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """An admin signs in: scopes of the admin role, HttpOnly cookie, no tenant cluster."""
    email = _email()
    user = await provisioning.create_user(
        tenant.id, email, "admin", actor="test", password=PASSWORD
    )
    async with gateway.client() as http:
        response = await http.post(
            "/v1/auth/login", json={"email": email.upper(), "password": PASSWORD}
        )
        session = await http.get(
            "/v1/auth/session",
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        )
    assert response.status_code == 200
    assert response.json()["scope"] == "admin console:approve console:read"
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=lax" in response.headers["set-cookie"].lower()
    assert session.json()["user_id"] == str(user.id)
    assert session.json()["cluster_id"] is None


@pytest.mark.parametrize("who", ["wrong-password", "unknown-user", "no-password"])
async def test_failed_sign_in_is_401_without_saying_why(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView, who: str
) -> None:
    """Wrong password, unknown e-mail and OIDC-only users get the same answer."""
    email = _email()
    if who == "wrong-password":
        await provisioning.create_user(tenant.id, email, "viewer", actor="t", password=PASSWORD)
    if who == "no-password":
        await provisioning.create_user(tenant.id, email, "viewer", actor="t")
    async with gateway.client() as http:
        response = await http.post("/v1/auth/login", json={"email": email, "password": "nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong e-mail address or password"
    assert "set-cookie" not in response.headers


async def test_logout_expires_the_cookie(gateway: RunningGateway) -> None:
    """Sign-out answers 204 and tells the browser to drop the cookie."""
    async with gateway.client() as http:
        response = await http.post("/v1/auth/logout")
    assert response.status_code == 204
    assert 'slicewise_session=""' in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()


async def _viewer(provisioning: Provisioning, tenant: TenantView) -> str:
    email = _email()
    await provisioning.create_user(tenant.id, email, "viewer", actor="t", password=PASSWORD)
    return email


async def _session_token(gateway: RunningGateway, email: str) -> str:
    async with gateway.client() as http:
        response = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    token: str = response.json()["access_token"]
    return token


async def _signed_in(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> str:
    return await _session_token(gateway, await _viewer(provisioning, tenant))


async def test_sign_out_revokes_the_bearer_token(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """After sign-out with the bearer, the same bearer is refused as revoked."""
    token = await _signed_in(gateway, provisioning, tenant)
    headers = {"Authorization": f"Bearer {token}"}
    async with gateway.client() as http:
        before = await http.get("/v1/auth/session", headers=headers)
        await http.post("/v1/auth/logout", headers=headers)
        after = await http.get("/v1/auth/session", headers=headers)
    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["detail"] == "revoked"


async def test_sign_out_revokes_the_cookie(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """After sign-out with the cookie, a copy of the old cookie is refused."""
    token = await _signed_in(gateway, provisioning, tenant)
    async with gateway.client(cookies={"slicewise_session": token}) as http:
        await http.post("/v1/auth/logout")
    async with gateway.client(cookies={"slicewise_session": token}) as http:
        replayed = await http.get("/v1/auth/session")
    assert replayed.status_code == 401


async def test_sign_out_revokes_only_that_session(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """Another session of the same user keeps working after one signs out."""
    email = await _viewer(provisioning, tenant)
    first, second = [await _session_token(gateway, email) for _ in range(2)]
    async with gateway.client() as http:
        await http.post("/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
        still = await http.get("/v1/auth/session", headers={"Authorization": f"Bearer {second}"})
    assert still.status_code == 200


async def test_revocation_lasts_as_long_as_the_token(
    gateway: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """The deny-list entry expires with the token (plus leeway), not before and not never."""
    token = await _signed_in(gateway, provisioning, tenant)
    principal = await gateway.wiring.verifier.verify(token)
    async with gateway.client() as http:
        await http.post("/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    key = f"{gateway.settings.redis_key_prefix}revoked:{principal.token_id}"
    ttl = await gateway.wiring.redis.ttl(key)
    settings = gateway.settings
    assert settings.console_session_seconds - 60 < ttl
    assert ttl <= settings.console_session_seconds + settings.token_leeway_seconds


async def test_an_address_in_two_tenants_signs_in_where_the_password_belongs(
    gateway: RunningGateway,
    provisioning: Provisioning,
    tenant: TenantView,
    other_tenant: TenantView,
) -> None:
    """Each tenant's user with the shared address reaches their own tenant with their password."""
    email = _email()
    await provisioning.create_user(tenant.id, email, "viewer", actor="t", password=PASSWORD)
    await provisioning.create_user(
        other_tenant.id, email, "viewer", actor="t", password="another long passphrase"
    )
    tenants = []
    async with gateway.client() as http:
        for password in (PASSWORD, "another long passphrase"):
            login = await http.post("/v1/auth/login", json={"email": email, "password": password})
            bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
            tenants.append((await http.get("/v1/auth/session", headers=bearer)).json()["tenant_id"])
    assert tenants == [str(tenant.id), str(other_tenant.id)]


async def test_sign_out_with_a_client_token_lists_nothing(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """An agent's token is no console session: sign-out leaves it working, nothing is listed."""
    token = await agent_token(gateway, credentials)
    headers = {"Authorization": f"Bearer {token}"}
    async with gateway.client() as http:
        signed_out = await http.post("/v1/auth/logout", headers=headers)
        after = await http.get("/v1/auth/session", headers=headers)
    principal = await gateway.wiring.verifier.verify(token)
    listed = await gateway.wiring.redis.exists(
        f"{gateway.settings.redis_key_prefix}revoked:{principal.token_id}"
    )
    assert signed_out.status_code == 204
    assert after.status_code == 200
    assert listed == 0
