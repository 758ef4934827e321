"""Fetching price documents: which failures are retried and which are given up on."""

from __future__ import annotations

import httpx
import pytest

from recommender.pricing.bundled import bundled_catalogue_bytes
from workers.errors import PermanentError, TemporaryError
from workers.pricing import catalogue_urls, fetch_catalogue, fetch_spot_advisor


def _client(status: int, body: bytes) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(status, content=body))
    )


def test_provider_placeholder_expands_to_one_url_per_provider() -> None:
    """`{provider}` gives the AWS, GCP and Azure URLs; a plain URL stays one."""
    assert catalogue_urls("https://p.example/{provider}.json") == [
        "https://p.example/aws.json",
        "https://p.example/gcp.json",
        "https://p.example/azure.json",
    ]
    assert catalogue_urls("https://p.example/all.json") == ["https://p.example/all.json"]


async def test_valid_catalogue_is_parsed() -> None:
    """The bundled AWS catalogue served back parses as the AWS catalogue."""
    async with _client(200, bundled_catalogue_bytes("aws")) as client:
        data, catalogue = await fetch_catalogue(client, "https://p.example/aws.json")
    assert (catalogue.provider, data) == ("aws", bundled_catalogue_bytes("aws"))


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_trouble_is_temporary(status: int) -> None:
    """5xx and 429 answers are retried later."""
    async with _client(status, b"") as client:
        with pytest.raises(TemporaryError):
            await fetch_catalogue(client, "https://p.example/aws.json")


async def test_missing_catalogue_is_permanent() -> None:
    """A 404 will not fix itself."""
    async with _client(404, b"") as client:
        with pytest.raises(PermanentError, match="404"):
            await fetch_catalogue(client, "https://p.example/aws.json")


async def test_invalid_catalogue_is_permanent() -> None:
    """A body that is not a catalogue is refused before it is cached."""
    async with _client(200, b'{"provider": "aws"}') as client:
        with pytest.raises(PermanentError, match="invalid"):
            await fetch_catalogue(client, "https://p.example/aws.json")


async def test_spot_advisor_document_is_validated_before_caching() -> None:
    """A body that is not Spot Advisor data is refused, so analyses keep the data in use."""
    async with _client(200, b'{"ranges": []}') as client:
        with pytest.raises(PermanentError, match="invalid"):
            await fetch_spot_advisor(client, "https://p.example/advisor.json")


async def test_spot_advisor_server_trouble_is_temporary() -> None:
    """A 503 from the advisor URL is retried later."""
    async with _client(503, b"") as client:
        with pytest.raises(TemporaryError):
            await fetch_spot_advisor(client, "https://p.example/advisor.json")


async def test_spot_advisor_without_offers_is_refused() -> None:
    """Well-formed data listing no offer at all would silently flatten every discount."""
    body = b'{"ranges": [{"index": 0, "label": "<5%", "max": 5}], "spot_advisor": {}}'
    async with _client(200, body) as client:
        with pytest.raises(PermanentError, match="no offers"):
            await fetch_spot_advisor(client, "https://p.example/advisor.json")
