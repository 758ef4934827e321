"""Console sign-in with e-mail and password."""

from __future__ import annotations

import uuid

import pytest

from auth.provisioning import Provisioning
from store.repositories.tenants import TenantView
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import RunningGateway, serve

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


async def test_repeated_attempts_are_rate_limited(
    make_settings: SettingsFactory, provisioning: Provisioning, tenant: TenantView
) -> None:
    """After the per-address budget, even the right password waits (429)."""
    email = _email()
    await provisioning.create_user(tenant.id, email, "viewer", actor="t", password=PASSWORD)
    async with serve(make_settings(login_rate_per_email=2)) as gateway, gateway.client() as http:
        statuses = [
            (await http.post("/v1/auth/login", json={"email": email, "password": p})).status_code
            for p in ("bad", "bad", PASSWORD)
        ]
    assert statuses == [401, 401, 429]


async def test_logout_expires_the_cookie(gateway: RunningGateway) -> None:
    """Sign-out answers 204 and tells the browser to drop the cookie."""
    async with gateway.client() as http:
        response = await http.post("/v1/auth/logout")
    assert response.status_code == 204
    assert 'slicewise_session=""' in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
