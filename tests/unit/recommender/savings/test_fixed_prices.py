"""Prices fixed per run: advice is re-priced only when its objects or the price book change."""

from __future__ import annotations

from dataclasses import replace

from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.version import pricebook_version
from recommender.savings.fixed_prices import keep_unchanged
from tests.unit.recommender.savings.test_alternatives import rec


def priced(saving: float, resource_version: str = "7", book: str = "pb-1") -> Recommendation:
    """A rightsizing of `a` computed from its Deployment at `resource_version`."""
    return rec(RecommendationKind.RIGHTSIZING, saving, workload="a").model_copy(
        update={
            "price_book_version": book,
            "computed_from": [
                ObjectVersion(
                    kind="Deployment", namespace="ml", name="a", resource_version=resource_version
                )
            ],
        }
    )


def by_workload(recommendation: Recommendation) -> str:
    """A fingerprint stand-in: the kind and the workload."""
    assert recommendation.workload is not None
    return f"{recommendation.kind}/{recommendation.workload.name}"


def test_unchanged_inputs_keep_the_first_price() -> None:
    """Same object versions, same price book: the stored $412.30 stays, not the fresh $418.90."""
    before = priced(412.30)
    (kept,) = keep_unchanged([priced(418.90)], {by_workload(before): before}, by_workload)
    assert kept is before


def test_a_changed_object_is_repriced() -> None:
    """A new resourceVersion of the workload takes the fresh price."""
    before = priced(412.30)
    fresh = priced(418.90, resource_version="8")
    (kept,) = keep_unchanged([fresh], {by_workload(before): before}, by_workload)
    assert kept is fresh


def test_a_new_price_book_reprices() -> None:
    """A fetched catalogue (another price book version) takes the fresh price."""
    before = priced(412.30)
    fresh = priced(418.90, book="pb-2")
    (kept,) = keep_unchanged([fresh], {by_workload(before): before}, by_workload)
    assert kept is fresh


def test_new_advice_passes_through() -> None:
    """Advice with no predecessor is kept as computed."""
    fresh = priced(50.0)
    assert keep_unchanged([fresh], {}, by_workload) == [fresh]


def test_price_book_version_follows_prices_only() -> None:
    """Equal books share a version; one changed price gives another."""
    catalogues = bundled_catalogues()
    book = PriceBook(catalogues, bundled_spot_advisor())
    assert pricebook_version(book) == pricebook_version(
        PriceBook(bundled_catalogues(), bundled_spot_advisor())
    )
    aws = catalogues["aws"]
    region, types = next(iter(aws.prices.items()))
    instance, price = next(iter(types.items()))
    changed_prices = {**aws.prices, region: {**types, instance: price * 1.1}}
    changed = PriceBook({**catalogues, "aws": replace(aws, prices=changed_prices)}, book.advisor)
    assert pricebook_version(changed) != pricebook_version(book)
