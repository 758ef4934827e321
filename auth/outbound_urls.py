"""URLs a tenant points Slicewise at (notification webhooks): public addresses only.

A tenant must not make our workers post to our own network. A URL is refused when its host, as
given or as resolved by DNS, is a loopback, link-local, private, shared or otherwise non-public
address, or a cloud metadata endpoint. Every address a name resolves to must pass, since the
client may connect to any of them. The same check runs when the URL is saved and before each
request of a delivery, redirects included, so a name re-pointed after it was saved, or a
redirect to an internal address, is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves a host name and port to the addresses a client would connect to."""

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack instance metadata
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud instance metadata
    )
)
ALLOWED_SCHEMES = ("https", "http")
MAX_URL_LENGTH = 2048


class UnsafeUrlError(ValueError):
    """The URL may not be used as an outbound target; `reason` says why in one word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The addresses the operating system's resolver gives for `host`."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UnsafeUrlError("unresolvable", f"{host} does not resolve: {e.strerror}") from e
    return [str(sockaddr[0]) for *_, sockaddr in found]


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public one (None when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it stands for.
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    if not address.is_global or address.is_multicast:
        return "reserved"
    return None


@dataclass(frozen=True)
class OutboundUrlPolicy:
    """Which URLs may be called; `allowed_networks` are exceptions the operator configured."""

    resolver: Resolver = system_resolver
    allowed_networks: tuple[IPNetwork, ...] = ()

    def _allowed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)

    async def check(self, url: str) -> None:
        """Raise UnsafeUrlError unless `url` is http(s) to a host with only public addresses."""
        if len(url) > MAX_URL_LENGTH:
            raise UnsafeUrlError("too-long", f"the URL is longer than {MAX_URL_LENGTH} characters")
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise UnsafeUrlError("malformed", f"not a URL: {e}") from e
        if parts.scheme not in ALLOWED_SCHEMES:
            raise UnsafeUrlError("scheme", "only https:// and http:// URLs are accepted")
        host = parts.hostname
        if not host:
            raise UnsafeUrlError("malformed", "the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise UnsafeUrlError("credentials", "credentials in the URL are not accepted")
        await self.public_addresses(host, port)

    async def public_addresses(self, host: str, port: int) -> list[str]:
        """The addresses of `host` (a name or a literal), all checked; UnsafeUrlError if any
        is not public. A client that connects to one of these, rather than resolving the name
        again, cannot be re-pointed by DNS between the check and the connection."""
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            addresses = [
                ipaddress.ip_address(a.split("%")[0]) for a in await self.resolver(host, port)
            ]
        if not addresses:
            raise UnsafeUrlError("unresolvable", f"{host} resolves to no address")
        for address in addresses:
            refusal = address_refusal(address)
            if refusal is not None and not self._allowed(address):
                raise UnsafeUrlError(
                    refusal, f"{host} is (or resolves to) a {refusal} address: {address}"
                )
        return [str(address) for address in addresses]


def parse_networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    """Networks from CIDR strings (`127.0.0.1/32`, `10.0.0.0/8`); ValueError if one is bad."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)
