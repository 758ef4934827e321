"""The catalogues shipped inside the package (see `catalogue/*.json` for date and source)."""

from __future__ import annotations

from importlib import resources

from recommender.pricing.instances import Catalogue, parse_catalogue

BUNDLED_PROVIDERS = ("aws", "gcp", "azure")


def bundled_catalogue_bytes(provider: str) -> bytes:
    """The raw JSON of the bundled catalogue of one provider."""
    if provider not in BUNDLED_PROVIDERS:
        raise KeyError(f"no bundled catalogue for provider {provider!r}")
    return (resources.files("recommender.pricing") / "catalogue" / f"{provider}.json").read_bytes()


def bundled_catalogue(provider: str) -> Catalogue:
    """The bundled catalogue of one provider, parsed."""
    return parse_catalogue(bundled_catalogue_bytes(provider))


def bundled_catalogues() -> dict[str, Catalogue]:
    """Every bundled catalogue, by provider."""
    return {provider: bundled_catalogue(provider) for provider in BUNDLED_PROVIDERS}
