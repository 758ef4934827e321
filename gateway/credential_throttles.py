"""Throttles of credential checks that refuse the attacker's pattern, not the legitimate owner.

Failures are counted per source address (and per client or account with it), never per client
or account alone: someone guessing an agent's secret or a user's password from one address
exhausts only that address's budget, and the owner signing in from elsewhere is unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.errors import LoginFailedError, TokenRequestsThrottledError
from auth.login import ConsoleLogin, Session
from gateway.failure_counts import FailureCounts
from gateway.rate_limit import Limit, RateLimiter


@dataclass(frozen=True)
class TokenBudgets:
    """Per window: failed secret checks per (client, source); unknown client ids per source."""

    failures_per_client_and_source: int
    unknown_clients_per_source: int


class TokenRequestThrottle:
    """The token endpoint's `SecretCheckGuard` for requests from one source address."""

    def __init__(
        self, failures: FailureCounts, limiter: RateLimiter, budgets: TokenBudgets, source: str
    ) -> None:
        self._failures = failures
        self._limiter = limiter
        self._budgets = budgets
        self._source = source

    def _pair(self, client_id: str) -> str:
        return f"token:{client_id}:{self._source}"

    async def unknown_client(self) -> None:
        """Count the unknown id against the source; refuse before hashing once over budget."""
        limit = Limit(
            f"token-unknown:{self._source}", self._budgets.unknown_clients_per_source, "source"
        )
        verdict = await self._limiter.hit([limit])
        if not verdict.allowed:
            raise TokenRequestsThrottledError(
                "too many unknown clients from this address", retry_after=verdict.retry_after
            )

    async def before_check(self, client_id: str) -> None:
        """Refuse when this source failed this client's secret too often in the window."""
        key = self._pair(client_id)
        (count,) = await self._failures.counts([key])
        if count >= self._budgets.failures_per_client_and_source:
            raise TokenRequestsThrottledError(
                "too many failed attempts from this address",
                retry_after=await self._failures.retry_after(key),
            )

    async def check_failed(self, client_id: str) -> None:
        """Count the failure against this client from this source only."""
        await self._failures.record([self._pair(client_id)])


@dataclass(frozen=True)
class SignInBudgets:
    """Failed sign-ins per window tolerated per (account, source), per source and per account."""

    per_account_and_source: int
    per_source: int
    per_account: int


class SignInThrottledError(Exception):
    """This address must wait before trying to sign in to this account again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class SignInThrottle:
    """Password sign-in attempts, throttled per source address and per account.

    An account that many addresses failed on is not locked for everyone: it is refused only to
    addresses that already failed a sign-in, so the user (from an address with no failures)
    still signs in with the right password.
    """

    def __init__(self, failures: FailureCounts, budgets: SignInBudgets) -> None:
        self._failures = failures
        self._budgets = budgets

    @staticmethod
    def _keys(email: str, source: str) -> tuple[str, str, str]:
        # Spelled as sign-in normalises it, so that " Ops@X" counts against "ops@x".
        account = email.strip().lower()
        return (
            f"login-pair:{account}:{source}",
            f"login-source:{source}",
            f"login-account:{account}",
        )

    async def sign_in(self, login: ConsoleLogin, email: str, password: str, source: str) -> Session:
        """Check the password unless throttled; count the outcome against `source`.

        Raises SignInThrottledError (before any password hash is checked) or LoginFailedError.
        """
        await self._check(email, source)
        try:
            session = await login.with_password(email, password)
        except LoginFailedError:
            await self._failures.record(list(self._keys(email, source)))
            raise
        # The other addresses' failures still count towards the account's budget.
        await self._failures.clear([self._keys(email, source)[0]])
        return session

    async def _check(self, email: str, source: str) -> None:
        keys = self._keys(email, source)
        pair, by_source, by_account = await self._failures.counts(list(keys))
        budgets = self._budgets
        refused: str | None = None
        if pair >= budgets.per_account_and_source:
            refused = keys[0]
        elif by_source >= budgets.per_source:
            refused = keys[1]
        elif by_account >= budgets.per_account and by_source > 0:
            refused = keys[2]
        if refused is not None:
            raise SignInThrottledError(await self._failures.retry_after(refused))
