"""Price data shipped inside the package: the catalogues of every provider and the AWS Spot
Instance Advisor snapshot (see `catalogue/*.json` for date and source of each)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from recommender.pricing.instances import Catalogue, parse_catalogue
from recommender.pricing.spot_advisor import SpotAdvisor, parse_spot_advisor

BUNDLED_PROVIDERS = ("aws", "gcp", "azure")
SPOT_ADVISOR_FILE = "aws-spot-advisor.json"


def bundled_catalogue_bytes(provider: str) -> bytes:
    """The raw JSON of the bundled catalogue of one provider."""
    if provider not in BUNDLED_PROVIDERS:
        raise KeyError(f"no bundled catalogue for provider {provider!r}")
    return (resources.files("recommender.pricing") / "catalogue" / f"{provider}.json").read_bytes()


@cache
def bundled_catalogue(provider: str) -> Catalogue:
    """The bundled catalogue of one provider, parsed once per process (the data never changes
    while it runs, and every analysis prices with it)."""
    return parse_catalogue(bundled_catalogue_bytes(provider))


def bundled_catalogues() -> dict[str, Catalogue]:
    """Every bundled catalogue, by provider."""
    return {provider: bundled_catalogue(provider) for provider in BUNDLED_PROVIDERS}


def bundled_spot_advisor_bytes() -> bytes:
    """The raw JSON of the bundled Spot Instance Advisor snapshot (Linux offers)."""
    return (resources.files("recommender.pricing") / "catalogue" / SPOT_ADVISOR_FILE).read_bytes()


@cache
def bundled_spot_advisor() -> SpotAdvisor:
    """The bundled Spot Instance Advisor snapshot, parsed once per process (about 30 ms a parse,
    which every cluster's analysis would otherwise pay)."""
    return parse_spot_advisor(bundled_spot_advisor_bytes())
