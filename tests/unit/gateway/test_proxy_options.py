"""Which peers may name the client's source address through X-Forwarded-For."""

from __future__ import annotations

from gateway.__main__ import proxy_options
from gateway.settings import GatewaySettings


def test_forwarded_headers_are_ignored_by_default() -> None:
    """Without trusted proxies the peer's own address is the source address."""
    assert proxy_options(GatewaySettings()) == {"proxy_headers": False}


def test_configured_proxies_are_the_only_ones_trusted() -> None:
    """With trusted proxies set, uvicorn believes X-Forwarded-For from those peers only."""
    settings = GatewaySettings(trusted_proxies="10.0.0.0/8")
    assert proxy_options(settings) == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.0/8"}
