"""Console sign-in through an external OpenID Connect provider (authorization code + PKCE)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from auth.provisioning import Provisioning
from store.repositories.tenants import TenantView
from tests.integration.auth.oidc_provider import Identity, OidcProvider
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import (
    NotifyingServer,
    RunningGateway,
    serve,
    wait_started,
)

CALLBACK = "https://console.slicewise.test/v1/auth/oidc/callback"


@contextlib.asynccontextmanager
async def _provider() -> AsyncIterator[OidcProvider]:
    provider = OidcProvider(client_id="slicewise-console", client_secret="idp-secret")
    server = NotifyingServer(
        uvicorn.Config(provider.app(), host="127.0.0.1", port=0, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_started(server, task)
        port = server.servers[0].sockets[0].getsockname()[1]
        provider.issuer = f"http://127.0.0.1:{port}"
        yield provider
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def provider() -> AsyncIterator[OidcProvider]:
    """A local OIDC provider on a free port."""
    async with _provider() as running:
        yield running


@pytest.fixture
async def oidc_gateway(
    make_settings: SettingsFactory, provider: OidcProvider
) -> AsyncIterator[RunningGateway]:
    """A gateway configured to sign console users in with `provider`."""
    settings = make_settings(
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id,
        oidc_client_secret=provider.client_secret,
        oidc_redirect_uri=CALLBACK,
    )
    async with serve(settings) as gateway:
        yield gateway


async def _sign_in(gateway: RunningGateway) -> tuple[httpx.Response, str]:
    """Browser steps: gateway -> provider -> (callback) gateway; returns the callback answer."""
    async with gateway.client() as http, httpx.AsyncClient() as browser:
        start = await http.get("/v1/auth/oidc/login")
        assert start.status_code == 302
        consent = await browser.get(start.headers["location"])
        assert consent.status_code == 302
        back = urlsplit(consent.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
        callback_query = back.query
        answer = await http.get(f"/v1/auth/oidc/callback?{callback_query}")
    return answer, callback_query


async def _session(gateway: RunningGateway, answer: httpx.Response) -> dict[str, object]:
    cookie = answer.cookies["slicewise_session"]
    async with gateway.client(cookies={"slicewise_session": cookie}) as http:
        response = await http.get("/v1/auth/session")
    assert response.status_code == 200
    document: dict[str, object] = response.json()
    return document


async def test_first_sign_in_links_the_user_by_verified_email(
    oidc_gateway: RunningGateway,
    provider: OidcProvider,
    provisioning: Provisioning,
    tenant: TenantView,
) -> None:
    """A provisioned approver signs in; the session cookie carries their role's scopes."""
    email = f"dana-{uuid.uuid4().hex[:6]}@example.com"
    user = await provisioning.create_user(tenant.id, email, "approver", actor="test")
    provider.next_identity = Identity(subject=f"sub-{uuid.uuid4().hex}", email=email)
    answer, _ = await _sign_in(oidc_gateway)
    session = await _session(oidc_gateway, answer)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert session["user_id"] == str(user.id)
    assert session["tenant_id"] == str(tenant.id)
    assert session["scopes"] == ["console:approve", "console:read"]


async def test_later_sign_in_finds_the_user_by_subject(
    oidc_gateway: RunningGateway,
    provider: OidcProvider,
    provisioning: Provisioning,
    tenant: TenantView,
) -> None:
    """Once linked, the (issuer, subject) pair identifies the user even if the e-mail changed."""
    email = f"eve-{uuid.uuid4().hex[:6]}@example.com"
    user = await provisioning.create_user(tenant.id, email, "viewer", actor="test")
    subject = f"sub-{uuid.uuid4().hex}"
    provider.next_identity = Identity(subject=subject, email=email)
    await _sign_in(oidc_gateway)
    provider.next_identity = Identity(subject=subject, email="renamed@example.org")
    answer, _ = await _sign_in(oidc_gateway)
    session = await _session(oidc_gateway, answer)
    assert session["user_id"] == str(user.id)


async def test_unverified_email_does_not_link(
    oidc_gateway: RunningGateway,
    provider: OidcProvider,
    provisioning: Provisioning,
    tenant: TenantView,
) -> None:
    """An address the provider has not verified is not enough to become that user."""
    email = f"mallory-{uuid.uuid4().hex[:6]}@example.com"
    await provisioning.create_user(tenant.id, email, "admin", actor="test")
    provider.next_identity = Identity(subject="sub-x", email=email, email_verified=False)
    answer, _ = await _sign_in(oidc_gateway)
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:slicewise:problem:login-failed"
    assert "slicewise_session" not in answer.cookies


async def test_address_shared_by_two_tenants_does_not_link(
    oidc_gateway: RunningGateway,
    provider: OidcProvider,
    provisioning: Provisioning,
    tenant: TenantView,
    other_tenant: TenantView,
) -> None:
    """With the verified address in two tenants, no user is picked: the sign-in is refused."""
    email = f"shared-{uuid.uuid4().hex[:6]}@example.com"
    await provisioning.create_user(tenant.id, email, "viewer", actor="test")
    await provisioning.create_user(other_tenant.id, email, "admin", actor="test")
    provider.next_identity = Identity(subject=f"sub-{uuid.uuid4().hex}", email=email)
    answer, _ = await _sign_in(oidc_gateway)
    assert answer.status_code == 401
    assert "slicewise_session" not in answer.cookies


async def test_replayed_callback_is_refused(
    oidc_gateway: RunningGateway,
    provider: OidcProvider,
    provisioning: Provisioning,
    tenant: TenantView,
) -> None:
    """A state is good for one callback only."""
    email = f"sam-{uuid.uuid4().hex[:6]}@example.com"
    await provisioning.create_user(tenant.id, email, "viewer", actor="test")
    provider.next_identity = Identity(subject=f"sub-{uuid.uuid4().hex}", email=email)
    first, query = await _sign_in(oidc_gateway)
    async with oidc_gateway.client() as http:
        replay = await http.get(f"/v1/auth/oidc/callback?{query}")
    assert first.status_code == 303
    assert replay.status_code == 401


async def test_id_token_with_wrong_nonce_is_refused(
    oidc_gateway: RunningGateway,
    provider: OidcProvider,
    provisioning: Provisioning,
    tenant: TenantView,
) -> None:
    """An ID token minted for another sign-in attempt (other nonce) is rejected."""
    email = f"ned-{uuid.uuid4().hex[:6]}@example.com"
    await provisioning.create_user(tenant.id, email, "viewer", actor="test")
    provider.next_identity = Identity(subject=f"sub-{uuid.uuid4().hex}", email=email)
    provider.nonce_override = "some-other-nonce"
    answer, _ = await _sign_in(oidc_gateway)
    assert answer.status_code == 401


async def test_without_a_provider_oidc_login_is_404(gateway: RunningGateway) -> None:
    """A gateway with no provider configured does not offer OIDC sign-in."""
    async with gateway.client() as http:
        response = await http.get("/v1/auth/oidc/login")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
