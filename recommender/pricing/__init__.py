"""Prices: the instance catalogue, spot discounts and what nodes, pods and savings cost.

`parse_catalogue(data: bytes)` and `parse_spot_advisor(data: bytes)` are pure: whoever fetches a
newer catalogue or advisor snapshot hands the bytes over and builds a `PriceBook` from them.
"""

from recommender.pricing.bundled import bundled_catalogue, bundled_catalogues
from recommender.pricing.instances import Catalogue, CatalogueError, parse_catalogue
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.spot_advisor import SpotAdvisor, SpotAdvisorError, parse_spot_advisor

__all__ = [
    "Catalogue",
    "CatalogueError",
    "PriceBook",
    "SpotAdvisor",
    "SpotAdvisorError",
    "bundled_catalogue",
    "bundled_catalogues",
    "parse_catalogue",
    "parse_spot_advisor",
]
