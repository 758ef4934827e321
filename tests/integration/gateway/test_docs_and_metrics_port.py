"""Swagger UI from the gateway's own assets (no CDN), and /metrics on a port of its own."""

from __future__ import annotations

import re

import httpx

from devstack.process import free_port
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import RunningGateway, serve

_ASSET = re.compile(r'(?:src|href)="([^"]+)"')


async def test_docs_load_every_asset_from_the_gateway(gateway: RunningGateway) -> None:
    """Each script, stylesheet and icon of /docs is a path on the gateway, and is served."""
    async with gateway.client() as http:
        page = await http.get("/docs")
        assets = _ASSET.findall(page.text)
        statuses = {url: (await http.get(url)).status_code for url in assets}
    assert page.status_code == 200
    assert assets
    assert all(url.startswith("/docs/assets/") for url in assets)
    assert set(statuses.values()) == {200}


async def test_docs_can_be_switched_off(make_settings: SettingsFactory) -> None:
    """With docs disabled, neither the page nor its assets are served."""
    async with serve(make_settings(docs_enabled=False)) as gateway, gateway.client() as http:
        page = await http.get("/docs")
        asset = await http.get("/docs/assets/swagger-ui-bundle.js")
        openapi = await http.get("/openapi.json")
    assert (page.status_code, asset.status_code) == (404, 404)
    assert openapi.status_code == 200


async def test_metrics_port_serves_metrics_the_api_port_does_not(
    make_settings: SettingsFactory,
) -> None:
    """With a metrics port, /metrics answers there and is a 404 on the API port."""
    port = free_port()
    async with serve(make_settings(metrics_port=port)) as gateway:
        async with gateway.client() as http:
            await http.get("/healthz")
            on_api = await http.get("/metrics")
        async with httpx.AsyncClient(timeout=10.0) as http:
            on_metrics = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert on_api.status_code == 404
    assert on_metrics.status_code == 200
    assert "slicewise_gateway_requests_total" in on_metrics.text


async def test_metrics_port_is_closed_when_the_gateway_stops(
    make_settings: SettingsFactory,
) -> None:
    """Stopping the app stops its metrics server: the port refuses connections."""
    port = free_port()
    async with serve(make_settings(metrics_port=port)):
        pass
    async with httpx.AsyncClient(timeout=5.0) as http:
        try:
            await http.get(f"http://127.0.0.1:{port}/metrics")
        except httpx.ConnectError:
            refused = True
        else:
            refused = False
    assert refused
