"""Spot discounts and interruption buckets from the Spot Instance Advisor."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.spot_advisor import SpotAdvisorError, parse_spot_advisor
from tests.unit.recommender.factories import advisor_bytes

ADVISOR = (
    Path(__file__).resolve().parents[5] / "shared" / "data" / "spot" / "spot-advisor-data.json"
)


def test_savings_percent_becomes_a_fraction() -> None:
    """s=70 means 70 % cheaper than on-demand."""
    advisor = parse_spot_advisor(advisor_bytes({"us-east-1": {"m5.large": (70, 2)}}))
    offer = advisor.offer("us-east-1", "m5.large")
    assert offer is not None
    assert offer.savings == pytest.approx(0.7)


def test_bucket_index_resolves_to_its_range() -> None:
    """r=2 is the 10-15 % interruption bucket."""
    advisor = parse_spot_advisor(advisor_bytes({"us-east-1": {"m5.large": (70, 2)}}))
    offer = advisor.offer("us-east-1", "m5.large")
    assert offer is not None
    assert (offer.interruption.label, offer.interruption.max_percent) == ("10-15%", 16.0)


def test_unknown_type_has_no_offer() -> None:
    """A type the advisor does not list has no offer."""
    advisor = parse_spot_advisor(advisor_bytes({"us-east-1": {"m5.large": (70, 2)}}))
    assert advisor.offer("us-east-1", "m5.xlarge") is None


def test_bucket_outside_ranges_is_refused() -> None:
    """r must index into ranges."""
    with pytest.raises(SpotAdvisorError, match="out of range"):
        parse_spot_advisor(advisor_bytes({"us-east-1": {"m5.large": (70, 9)}}))


def test_real_advisor_file_prices_p3_2xlarge() -> None:
    """The shipped snapshot lists p3.2xlarge in us-east-1 at 80 % off, >20 % interruptions."""
    offer = parse_spot_advisor(ADVISOR.read_bytes()).offer("us-east-1", "p3.2xlarge")
    assert offer is not None
    assert offer.savings == pytest.approx(0.8)
    assert offer.interruption.label == ">20%"


def test_bundled_snapshot_matches_the_published_file() -> None:
    """The package's Linux copy gives every Linux offer of the published file unchanged."""
    published = parse_spot_advisor(ADVISOR.read_bytes())
    bundled = bundled_spot_advisor()
    linux = {key: offer for key, offer in published.offers.items() if key[1] == "Linux"}
    assert dict(bundled.offers) == linux


def test_bundled_pricebook_uses_the_advisor_discount_and_bucket() -> None:
    """A type the advisor lists is priced at its own discount with its interruption bucket."""
    book = PriceBook(catalogues=bundled_catalogues(), advisor=bundled_spot_advisor())
    price = book.price("aws", "us-east-1", "p3.2xlarge")
    assert price is not None
    assert price.spot_savings == pytest.approx(0.8)
    assert price.spot_savings_estimated is False
    assert price.interruption is not None
    assert price.interruption.label == ">20%"
