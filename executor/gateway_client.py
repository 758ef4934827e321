"""The executor's side of the gateway contract: tokens, instruction long-poll, result reports.

    POST {base}/oauth/token                      client credentials (client_secret_post), scope
                                                 `instructions` -> {access_token, expires_in, ...}
    GET  {base}/v1/clusters/{cluster}/instructions?wait=S   -> {"instructions": [Instruction...]}
    POST {base}/v1/clusters/{cluster}/instructions/{id}/result   InstructionResult -> 200/202

Tokens are cached until shortly before they expire and fetched again after a 401.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from executor.errors import GatewayRejectedError, TemporaryExecutorError
from protocol.instruction import Instruction, InstructionResult
from protocol.trace_context import inject_http

SCOPE = "instructions"
EXPIRY_MARGIN_SECONDS = 30.0


class TokenSource:
    """OAuth2 client-credentials access tokens, cached until shortly before expiry."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str = SCOPE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Fetch tokens from `token_url` with `http`; `clock` is monotonic seconds."""
        self._http = http
        self._url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self._clock = clock
        self._token: str | None = None
        self._valid_until = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def token(self) -> str:
        """A valid access token, from the cache when possible."""
        async with self._lock:
            token = self._token
            if token is None or self._clock() >= self._valid_until:
                token = await self._fetch()
            return token

    def invalidate(self) -> None:
        """Forget the cached token (the gateway refused it)."""
        self._token = None

    async def _fetch(self) -> str:
        response = await _send(self._http, "POST", self._url, data=self._form)
        if response.status_code != 200:
            raise GatewayRejectedError(response.status_code, _detail(response))
        try:
            document = response.json()
            token = str(document["access_token"])
            lifetime = float(document.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as e:
            raise TemporaryExecutorError(f"malformed token response: {e}") from e
        self.fetches += 1
        self._token = token
        self._valid_until = self._clock() + max(lifetime - EXPIRY_MARGIN_SECONDS, lifetime / 2)
        return token


@dataclass
class Delivery:
    """What one poll returned."""

    instructions: list[Instruction] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    """Why each unparseable item was dropped."""
    traces: dict[str, dict[str, str]] = field(default_factory=dict)
    """Trace headers by instruction id: handling an instruction continues its approval's trace."""


class GatewayClient:
    """Polls for instructions and reports results for one cluster."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        cluster_id: uuid.UUID,
        tokens: TokenSource,
        *,
        request_timeout: float = 15.0,
    ) -> None:
        """Talk to the gateway at `base_url` as the executor of `cluster_id`."""
        self._http = http
        self._base = base_url.rstrip("/")
        self._cluster = cluster_id
        self._tokens = tokens
        self._timeout = request_timeout

    async def poll(self, wait_seconds: float) -> Delivery:
        """Long-poll for instructions, waiting up to `wait_seconds` on the server."""
        url = f"{self._base}/v1/clusters/{self._cluster}/instructions"
        response = await self._authorized(
            "GET",
            url,
            params={"wait": f"{wait_seconds:g}"},
            timeout=wait_seconds + self._timeout,
        )
        if response.status_code != 200:
            raise GatewayRejectedError(response.status_code, _detail(response))
        try:
            document = response.json()
            items = document["instructions"]
        except (ValueError, KeyError, TypeError) as e:
            raise TemporaryExecutorError(f"malformed instruction list: {e}") from e
        delivery = Delivery(traces=_traces(document.get("traces")))
        for item in items if isinstance(items, list) else []:
            try:
                delivery.instructions.append(Instruction.model_validate(item))
            except ValidationError as e:
                delivery.malformed.append(f"{e.error_count()} validation error(s)")
        return delivery

    async def report(self, result: InstructionResult) -> None:
        """Send one result; GatewayRejectedError if the gateway will never take it."""
        url = (
            f"{self._base}/v1/clusters/{self._cluster}/instructions/{result.instruction_id}/result"
        )
        response = await self._authorized(
            "POST",
            url,
            content=result.model_dump_json(),
            # The report continues the trace of the instruction's handling.
            headers=dict(inject_http({"Content-Type": "application/json"})),
            timeout=self._timeout,
        )
        if response.status_code not in {200, 201, 202, 204}:
            raise GatewayRejectedError(response.status_code, _detail(response))

    async def _authorized(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        extra_headers: dict[str, str] = kwargs.pop("headers", {})
        for attempt in range(2):
            token = await self._tokens.token()
            headers = {**extra_headers, "Authorization": f"Bearer {token}"}
            response = await _send(self._http, method, url, headers=headers, **kwargs)
            if response.status_code != 401 or attempt == 1:
                return response
            self._tokens.invalidate()  # expired or revoked early: fetch a new one once
        raise AssertionError("unreachable")  # pragma: no cover


async def _send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TransportError as e:
        raise TemporaryExecutorError(f"gateway unreachable: {type(e).__name__}: {e}") from e
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryExecutorError(f"gateway answered {response.status_code}")
    return response


def _traces(found: object) -> dict[str, dict[str, str]]:
    """The well-formed entries of a delivery's trace map (tracing never fails a delivery)."""
    if not isinstance(found, dict):
        return {}
    return {
        str(key): {str(name): str(value) for name, value in carrier.items()}
        for key, carrier in found.items()
        if isinstance(carrier, dict)
    }


def _detail(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(document, dict):
        for key in ("detail", "error_description", "error", "title"):
            if key in document:
                return str(document[key])[:200]
    return str(document)[:200]
