"""The client-credentials grant asks its guard before any argon2 check, and reports failures."""

from __future__ import annotations

import pytest

from auth.client_credentials import ClientAuthentication, ClientCredentialsGrant
from auth.errors import OAuthError, TokenRequestsThrottledError
from auth.hashing import SecretHasher
from auth.provisioning import ClusterCredentials
from store.database import Database
from tests.integration.gateway.harness import RunningGateway


class CountingHasher(SecretHasher):
    """The real argon2 hasher, counting the secrets it checks."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def verify(self, secret_hash: str | None, secret: str) -> bool:
        """Count, then check as usual."""
        self.checks += 1
        return await super().verify(secret_hash, secret)


class RefusingGuard:
    """Refuses every caller, as an exhausted budget does."""

    async def unknown_client(self) -> None:
        """Refuse."""
        raise TokenRequestsThrottledError("refused", retry_after=1)

    async def before_check(self, client_id: str) -> None:
        """Refuse."""
        raise TokenRequestsThrottledError(f"refused {client_id}", retry_after=1)

    async def check_failed(self, client_id: str) -> None:
        """Never reached."""


class RecordingGuard:
    """Lets everyone try and remembers which clients failed."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    async def unknown_client(self) -> None:
        """Allow."""

    async def before_check(self, client_id: str) -> None:
        """Allow."""

    async def check_failed(self, client_id: str) -> None:
        """Remember."""
        self.failed.append(client_id)


def _grant(
    gateway: RunningGateway, database: Database, hasher: SecretHasher
) -> ClientCredentialsGrant:
    return ClientCredentialsGrant(database, hasher, gateway.wiring.issuer)


@pytest.mark.parametrize("known", [True, False], ids=["known-client", "unknown-client"])
async def test_refused_caller_costs_no_hash_check(
    gateway: RunningGateway, database: Database, credentials: ClusterCredentials, known: bool
) -> None:
    """When the guard refuses, no secret is hashed, for known and unknown client ids alike."""
    hasher = CountingHasher()
    client_id = credentials.agent.client.client_id if known else "nobody"
    presented = ClientAuthentication(client_id, "guess", "client_secret_basic")
    with pytest.raises(TokenRequestsThrottledError):
        await _grant(gateway, database, hasher).grant(presented, None, guard=RefusingGuard())
    assert hasher.checks == 0


async def test_failed_check_is_reported_for_the_known_client(
    gateway: RunningGateway, database: Database, credentials: ClusterCredentials
) -> None:
    """A wrong secret of a known client is reported to the guard under that client's id."""
    guard = RecordingGuard()
    client_id = credentials.agent.client.client_id
    presented = ClientAuthentication(client_id, "guess", "client_secret_basic")
    with pytest.raises(OAuthError):
        await _grant(gateway, database, SecretHasher()).grant(presented, None, guard=guard)
    assert guard.failed == [client_id]


async def test_success_is_not_reported(
    gateway: RunningGateway, database: Database, credentials: ClusterCredentials
) -> None:
    """The right secret issues a token and reports nothing."""
    guard = RecordingGuard()
    agent = credentials.agent
    presented = ClientAuthentication(agent.client.client_id, agent.secret, "client_secret_basic")
    granted = await _grant(gateway, database, SecretHasher()).grant(presented, None, guard=guard)
    assert granted.client.client_id == agent.client.client_id
    assert guard.failed == []
