"""Scrape a DCGM exporter's `/metrics` endpoint."""

from __future__ import annotations

from datetime import datetime

import httpx2

from agent.dcgm.exposition import parse_exposition
from agent.dcgm.samples import gpu_usage
from agent.errors import TemporaryError
from protocol.snapshot import GpuUsage


async def scrape_dcgm(
    http: httpx2.AsyncClient, url: str, now: datetime, default_node: str | None = None
) -> list[GpuUsage]:
    """GPU usage from one scrape; raises `TemporaryError` when the exporter does not answer."""
    try:
        response = await http.get(url, headers={"Accept": "text/plain"})
        response.raise_for_status()
    except httpx2.HTTPError as e:
        raise TemporaryError(f"DCGM exporter at {url} did not answer: {e}") from e
    return gpu_usage(parse_exposition(response.text), now, default_node)
