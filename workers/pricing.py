"""Prices: the bundled catalogues and Spot Advisor snapshot, overridden by newer ones in Redis.

The live price book holds every provider's catalogue and the AWS Spot Instance Advisor data
(discount and interruption-frequency bucket per region and instance type), so spot savings use
each type's own discount and recommendations show its interruption bucket; types the advisor
does not list fall back to the price book's default discount. The refresh task validates a
fetched document with the recommender's parser before it is cached, so analyses only ever read
documents that parse.
"""

from __future__ import annotations

import httpx
import structlog
from redis.asyncio import Redis

from recommender.pricing.bundled import (
    BUNDLED_PROVIDERS,
    bundled_catalogues,
    bundled_spot_advisor,
)
from recommender.pricing.instances import Catalogue, CatalogueError, parse_catalogue
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.spot_advisor import SpotAdvisor, SpotAdvisorError, parse_spot_advisor
from workers.errors import PermanentError, TemporaryError

log = structlog.get_logger(__name__)

CACHE_KEY = "slicewise:pricing:catalogue:{provider}"
SPOT_ADVISOR_KEY = "slicewise:pricing:spot-advisor"
PROVIDER_PLACEHOLDER = "{provider}"


async def cached_catalogues(redis: Redis) -> dict[str, Catalogue]:
    """Catalogues fetched by the refresh task, by provider (unreadable ones are skipped)."""
    found: dict[str, Catalogue] = {}
    for provider in BUNDLED_PROVIDERS:
        data = await redis.get(CACHE_KEY.format(provider=provider))
        if data is None:
            continue
        try:
            found[provider] = parse_catalogue(data.encode() if isinstance(data, str) else data)
        except CatalogueError:
            log.warning("cached catalogue unreadable; using the bundled one", provider=provider)
    return found


async def current_spot_advisor(redis: Redis) -> SpotAdvisor:
    """The Spot Advisor data the refresh task fetched, else the bundled snapshot."""
    data = await redis.get(SPOT_ADVISOR_KEY)
    if data is not None:
        try:
            return parse_spot_advisor(data.encode() if isinstance(data, str) else data)
        except SpotAdvisorError:
            log.warning("cached spot advisor data unreadable; using the bundled snapshot")
    return bundled_spot_advisor()


async def current_pricebook(redis: Redis) -> PriceBook:
    """Bundled catalogues and Spot Advisor data, each replaced by a fetched one where the
    refresh task found one."""
    return PriceBook(
        catalogues={**bundled_catalogues(), **await cached_catalogues(redis)},
        advisor=await current_spot_advisor(redis),
    )


def catalogue_urls(url: str) -> list[str]:
    """One URL per provider if `url` has a `{provider}` placeholder, else `url` itself."""
    if PROVIDER_PLACEHOLDER in url:
        return [url.replace(PROVIDER_PLACEHOLDER, provider) for provider in BUNDLED_PROVIDERS]
    return [url]


async def fetch_document(client: httpx.AsyncClient, url: str, what: str) -> bytes:
    """Download one price document; temporary errors for transport and 5xx failures."""
    try:
        response = await client.get(url)
    except httpx.TransportError as e:
        raise TemporaryError(f"{what} fetch failed: {type(e).__name__}") from e
    if response.status_code >= 500 or response.status_code == 429:
        raise TemporaryError(f"{what} server answered {response.status_code}")
    if response.status_code != 200:
        raise PermanentError(f"{what} server answered {response.status_code} for {url}")
    return response.content


async def fetch_catalogue(client: httpx.AsyncClient, url: str) -> tuple[bytes, Catalogue]:
    """Download and parse one catalogue; temporary errors for transport and 5xx failures."""
    data = await fetch_document(client, url, "catalogue")
    try:
        return data, parse_catalogue(data)
    except CatalogueError as e:
        raise PermanentError(f"fetched catalogue is invalid: {e}") from e


async def fetch_spot_advisor(client: httpx.AsyncClient, url: str) -> tuple[bytes, SpotAdvisor]:
    """Download and parse Spot Advisor data (the `spot-advisor-data.json` format)."""
    data = await fetch_document(client, url, "spot advisor")
    try:
        advisor = parse_spot_advisor(data)
    except SpotAdvisorError as e:
        raise PermanentError(f"fetched spot advisor data is invalid: {e}") from e
    if not advisor.offers:
        raise PermanentError("fetched spot advisor data is invalid: it lists no offers")
    return data, advisor


async def refresh_spot_advisor(redis: Redis, client: httpx.AsyncClient, url: str) -> int:
    """Fetch Spot Advisor data from `url` and cache it; returns how many offers it holds."""
    data, advisor = await fetch_spot_advisor(client, url)
    await redis.set(SPOT_ADVISOR_KEY, data)
    return len(advisor.offers)


async def refresh_catalogues(redis: Redis, client: httpx.AsyncClient, url: str) -> list[str]:
    """Fetch catalogues from `url`; cache each one not older than what is in use.

    Returns the providers whose cached catalogue was replaced.
    """
    replaced = []
    current = {**bundled_catalogues(), **await cached_catalogues(redis)}
    for each in catalogue_urls(url):
        data, catalogue = await fetch_catalogue(client, each)
        if catalogue.provider not in BUNDLED_PROVIDERS:
            raise PermanentError(f"catalogue of unknown provider {catalogue.provider!r}")
        in_use = current.get(catalogue.provider)
        if in_use is not None and catalogue.as_of < in_use.as_of:
            log.info("fetched catalogue is older than the one in use", provider=catalogue.provider)
            continue
        await redis.set(CACHE_KEY.format(provider=catalogue.provider), data)
        replaced.append(catalogue.provider)
    return replaced
