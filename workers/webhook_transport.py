"""The HTTP transport of webhook deliveries: it connects only to addresses it checked itself.

`OutboundUrlPolicy.check` runs before each request, but an HTTP client would then resolve the
name again, and a name can be re-pointed at an internal address in between (DNS rebinding).
This transport's network backend resolves the name through the policy and connects to the very
address that passed; TLS still verifies the certificate against the name in the URL.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from auth.outbound_urls import OutboundUrlPolicy, UnsafeUrlError


class PublicAddressBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses `policy` accepts."""

    def __init__(self, policy: OutboundUrlPolicy) -> None:
        """Check with `policy`; connect through httpcore's default backend."""
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first checked address of `host`; ConnectError if none may be used."""
        try:
            addresses = await self._policy.public_addresses(host, port)
        except UnsafeUrlError as e:
            raise httpcore.ConnectError(f"refused target ({e.reason}): {e}") from e
        return await self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a webhook is a TCP endpoint."""
        del timeout, socket_options
        raise httpcore.ConnectError(f"unix socket {path} is not a webhook target")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the default backend does."""
        await self._inner.sleep(seconds)


class PublicAddressTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses `PublicAddressBackend`."""

    def __init__(self, policy: OutboundUrlPolicy) -> None:
        """Verify TLS as httpx does by default; connect only where `policy` allows."""
        super().__init__()
        # httpx builds its pool without a way to pass a network backend; the pool is replaced
        # by the same one httpx would build, plus the backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=PublicAddressBackend(policy)
        )
