"""Guessing secrets and passwords is throttled per source address, never at the owner's expense.

Requests come from distinct loopback addresses (127.0.0.x), so the gateway sees real, different
source addresses for the attacker and for the legitimate client.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from auth.provisioning import ClusterCredentials, Provisioning
from store.repositories.tenants import TenantView
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import RunningGateway, serve

GRANT = {"grant_type": "client_credentials"}
PASSWORD = "a long enough passphrase"
OWNER = "127.0.0.1"
ATTACKER = "127.0.0.2"


@pytest.fixture
async def throttled(make_settings: SettingsFactory) -> AsyncIterator[RunningGateway]:
    """A gateway with small budgets: 2 failures per pair, 4 per address, 3 per account."""
    settings = make_settings(
        token_failures_per_client_and_source=2,
        token_unknown_clients_per_source=2,
        login_failures_per_email_and_source=2,
        login_failures_per_source=4,
        login_failures_per_email=3,
    )
    async with serve(settings) as gateway:
        yield gateway


@asynccontextmanager
async def _from(gateway: RunningGateway, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with gateway.client(transport=transport) as http:
        yield http


async def _token_status(gateway: RunningGateway, address: str, client_id: str, secret: str) -> int:
    async with _from(gateway, address) as http:
        response = await http.post("/oauth/token", data=GRANT, auth=(client_id, secret))
    return response.status_code


async def _login(
    gateway: RunningGateway, address: str, email: str, password: str
) -> httpx.Response:
    async with _from(gateway, address) as http:
        return await http.post("/v1/auth/login", json={"email": email, "password": password})


async def _user(provisioning: Provisioning, tenant: TenantView) -> str:
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    await provisioning.create_user(tenant.id, email, "viewer", actor="t", password=PASSWORD)
    return email


async def test_wrong_secrets_from_one_address_are_refused_with_retry_after(
    throttled: RunningGateway, credentials: ClusterCredentials
) -> None:
    """After its failure budget the guessing address gets 429 with Retry-After."""
    client_id = credentials.agent.client.client_id
    statuses = [await _token_status(throttled, ATTACKER, client_id, "guess") for _ in range(3)]
    async with _from(throttled, ATTACKER) as http:
        refused = await http.post("/oauth/token", data=GRANT, auth=(client_id, "guess"))
    assert statuses == [401, 401, 429]
    assert refused.json()["error"] == "temporarily_unavailable"
    assert 1 <= int(refused.headers["retry-after"]) <= throttled.settings.rate_window_seconds


async def test_guessing_does_not_lock_out_the_real_client(
    throttled: RunningGateway, credentials: ClusterCredentials
) -> None:
    """While the attacker's address is refused, the agent with its secret still gets a token."""
    agent = credentials.agent
    for _ in range(3):
        await _token_status(throttled, ATTACKER, agent.client.client_id, "guess")
    assert await _token_status(throttled, OWNER, agent.client.client_id, agent.secret) == 200


async def test_successful_token_requests_are_not_counted(
    throttled: RunningGateway, credentials: ClusterCredentials
) -> None:
    """Many more successes than the failure budget are all answered 200."""
    agent = credentials.agent
    statuses = {
        await _token_status(throttled, OWNER, agent.client.client_id, agent.secret)
        for _ in range(5)
    }
    assert statuses == {200}


async def test_unknown_client_ids_are_limited_per_address(throttled: RunningGateway) -> None:
    """Unknown ids from one address get 401 until the budget, then 429; other addresses not."""
    address = "127.0.0.3"
    statuses = [
        await _token_status(throttled, address, f"nobody-{uuid.uuid4().hex[:8]}", "x")
        for _ in range(3)
    ]
    elsewhere = await _token_status(throttled, "127.0.0.4", "nobody-else", "x")
    assert statuses == [401, 401, 429]
    assert elsewhere == 401


async def test_password_guessing_is_refused_per_address_and_account(
    throttled: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """After two failures for one account, that address gets 429 even with the password."""
    email = await _user(provisioning, tenant)
    address = "127.0.0.5"
    statuses = [(await _login(throttled, address, email, "guess")).status_code for _ in range(2)]
    refused = await _login(throttled, address, email, PASSWORD)
    assert statuses == [401, 401]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1


async def test_the_user_signs_in_while_an_address_is_refused(
    throttled: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """Another address's refusal does not keep the user, with the right password, out."""
    email = await _user(provisioning, tenant)
    for _ in range(3):
        await _login(throttled, "127.0.0.6", email, "guess")
    assert (await _login(throttled, "127.0.0.7", email, PASSWORD)).status_code == 200


async def test_a_locked_account_still_admits_an_address_with_no_failures(
    throttled: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """Failures from many addresses lock the account to them only; a clean address signs in."""
    email = await _user(provisioning, tenant)
    attackers = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    for address in attackers:
        await _login(throttled, address, email, "guess")
    from_attacker = await _login(throttled, attackers[0], email, "another guess")
    from_user = await _login(throttled, "127.0.1.9", email, PASSWORD)
    assert from_attacker.status_code == 429
    assert from_user.status_code == 200


async def test_spraying_many_accounts_from_one_address_is_refused(
    throttled: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """An address that failed on four accounts is refused on a fifth it never tried."""
    address = "127.0.2.1"
    for _ in range(4):
        await _login(throttled, address, await _user(provisioning, tenant), "guess")
    fifth = await _user(provisioning, tenant)
    assert (await _login(throttled, address, fifth, PASSWORD)).status_code == 429


async def test_respelling_the_address_does_not_reset_the_budget(
    throttled: RunningGateway, provisioning: Provisioning, tenant: TenantView
) -> None:
    """Upper case and surrounding spaces count against the same account."""
    email = await _user(provisioning, tenant)
    address = "127.0.3.1"
    for spelling in (email.upper(), f" {email} "):
        await _login(throttled, address, spelling, "guess")
    assert (await _login(throttled, address, email, PASSWORD)).status_code == 429
