"""An authenticated HTTP client for the gateway (OAuth2 client credentials, authlib).

The access token is fetched on first use, cached, and fetched again shortly before it expires
(authlib's `leeway`) or after the gateway answers 401. Every failure is classified: temporary
(network, 5xx, 408, 429, 401) is retried by the caller; the rest is a refusal for good.
"""

from __future__ import annotations

from typing import Any

import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from agent.errors import RejectedError, TemporaryError, ThrottledError, UnavailableError
from agent.settings import AgentSettings

RETRYABLE_STATUS = frozenset({401, 408, 425, 429})
MAX_DETAIL = 300


class GatewayClient:
    """Posts payloads to the gateway with a bearer token; one instance per uplink lane."""

    def __init__(
        self, settings: AgentSettings, *, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        """A client for `settings.gateway_url`; `transport` lets tests route requests in-process."""
        extra: dict[str, Any] = {} if transport is None else {"transport": transport}
        self._oauth = AsyncOAuth2Client(
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            token_endpoint=settings.resolved_token_url,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            grant_type="client_credentials",
            leeway=settings.token_leeway_seconds,
            base_url=settings.gateway_url.rstrip("/"),
            timeout=httpx2.Timeout(settings.http_timeout_seconds),
            **extra,
        )
        self._need_token = True

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        """POST `body` to `path`; the answer's body on 2xx, else `TemporaryError` or
        `RejectedError`."""
        await self._ensure_token()
        try:
            response = await self._oauth.post(path, content=body, headers=headers)
        except (httpx2.HTTPError, OAuthError) as e:
            raise TemporaryError(f"gateway unreachable: {type(e).__name__}: {e}") from e
        if response.is_success:
            return bytes(response.content)
        detail = response.text[:MAX_DETAIL]
        if response.status_code == 401:
            # The token was revoked or its signing key rotated: fetch a new one next time.
            self._need_token = True
        if response.status_code == 429:
            raise ThrottledError(
                f"gateway rate-limited the upload: {detail}",
                _seconds(response.headers.get("Retry-After")),
            )
        if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
            raise UnavailableError(
                f"gateway answered HTTP {response.status_code}: {detail}", response.status_code
            )
        raise RejectedError(response.status_code, detail)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._oauth.aclose()

    async def _ensure_token(self) -> None:
        """Fetch a token when there is none (or the last one was refused)."""
        if not self._need_token:
            return
        try:
            await self._oauth.fetch_token()
        except (httpx2.HTTPError, OAuthError, ValueError) as e:
            raise TemporaryError(f"token request failed: {type(e).__name__}: {e}") from e
        self._need_token = False


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After header given in seconds (the HTTP-date form is not used by the gateway)."""
    if retry_after is None or not retry_after.strip().isdigit():
        return None
    return float(retry_after.strip())
