"""Price catalogues: the bundled ones, overridden by newer ones fetched into Redis.

The refresh task validates a fetched catalogue with the recommender's parser before it is
cached, so analyses only ever read catalogues that parse.
"""

from __future__ import annotations

import httpx
import structlog
from redis.asyncio import Redis

from recommender.pricing.bundled import BUNDLED_PROVIDERS, bundled_catalogues
from recommender.pricing.instances import Catalogue, CatalogueError, parse_catalogue
from recommender.pricing.pricebook import PriceBook
from workers.errors import PermanentError, TemporaryError

log = structlog.get_logger(__name__)

CACHE_KEY = "slicewise:pricing:catalogue:{provider}"
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


async def current_pricebook(redis: Redis) -> PriceBook:
    """Bundled catalogues, each replaced by a fetched one where the refresh task found one."""
    return PriceBook(catalogues={**bundled_catalogues(), **await cached_catalogues(redis)})


def catalogue_urls(url: str) -> list[str]:
    """One URL per provider if `url` has a `{provider}` placeholder, else `url` itself."""
    if PROVIDER_PLACEHOLDER in url:
        return [url.replace(PROVIDER_PLACEHOLDER, provider) for provider in BUNDLED_PROVIDERS]
    return [url]


async def fetch_catalogue(client: httpx.AsyncClient, url: str) -> tuple[bytes, Catalogue]:
    """Download and parse one catalogue; temporary errors for transport and 5xx failures."""
    try:
        response = await client.get(url)
    except httpx.TransportError as e:
        raise TemporaryError(f"catalogue fetch failed: {type(e).__name__}") from e
    if response.status_code >= 500 or response.status_code == 429:
        raise TemporaryError(f"catalogue server answered {response.status_code}")
    if response.status_code != 200:
        raise PermanentError(f"catalogue server answered {response.status_code} for {url}")
    try:
        return response.content, parse_catalogue(response.content)
    except CatalogueError as e:
        raise PermanentError(f"fetched catalogue is invalid: {e}") from e


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
