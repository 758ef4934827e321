"""Prices of instance types a catalogue does not list."""

from __future__ import annotations

import json

import pytest

from recommender.pricing.bundled import bundled_catalogue
from recommender.pricing.estimate import PriceBasis, Shape, estimate_hourly, generic_rates
from recommender.pricing.instances import parse_catalogue

SMALL = parse_catalogue(
    json.dumps(
        {
            "provider": "aws",
            "currency": "USD",
            "as_of": "2025-05-01",
            "source": "test",
            "instance_types": {
                "a1.small": {"family": "a1", "vcpu": 1, "memory_gib": 2},
                "b1.medium": {"family": "b1", "vcpu": 2, "memory_gib": 8},
                "g1.large": {"family": "g1", "vcpu": 4, "memory_gib": 16, "gpus": 1},
            },
            "prices": {"r1": {"a1.small": 0.05, "b1.medium": 0.13, "g1.large": 1.0}},
        }
    ).encode()
)


def test_listed_type_is_not_an_estimate() -> None:
    """A listed price comes back as is."""
    price = estimate_hourly(bundled_catalogue("aws"), "us-east-1", "c5.large", Shape())
    assert price is not None
    assert (price.usd, price.estimated) == (0.085, False)


def test_unlisted_region_takes_the_median_over_regions() -> None:
    """m5.large in an unlisted region: median of 0.096, 0.096, 0.096 and 0.107."""
    price = estimate_hourly(bundled_catalogue("aws"), "ap-south-1", "m5.large", Shape())
    assert price is not None
    assert price.basis is PriceBasis.OTHER_REGION
    assert price.usd == pytest.approx(0.096)


def test_unknown_size_uses_its_family_rate_per_vcpu() -> None:
    """A 12-vCPU m5 size is priced at m5's $0.048 per vCPU-hour."""
    price = estimate_hourly(bundled_catalogue("aws"), "us-east-1", "m5.3xlarge", Shape(12, 48))
    assert price is not None
    assert price.basis is PriceBasis.FAMILY_RATE
    assert price.usd == pytest.approx(0.576)


def test_generic_rates_fit_the_catalogue_exactly() -> None:
    """Two CPU types fix $0.035 per vCPU and $0.0075 per GiB; the GPU takes the rest."""
    per_vcpu, per_gib, per_gpu = generic_rates(SMALL, "r1")
    assert per_vcpu == pytest.approx(0.035)
    assert per_gib == pytest.approx(0.0075)
    assert per_gpu == pytest.approx(1.0 - 4 * 0.035 - 16 * 0.0075)


def test_unknown_family_is_priced_from_generic_rates() -> None:
    """2 vCPU, 8 GiB and 2 GPUs of an unknown family: 0.13 + 2 x 0.74."""
    price = estimate_hourly(SMALL, "r1", "z9.huge", Shape(2, 8, 2))
    assert price is not None
    assert price.basis is PriceBasis.GENERIC_RATE
    assert price.usd == pytest.approx(0.13 + 2 * 0.74)


def test_unknown_type_without_shape_cannot_be_priced() -> None:
    """Without vCPU and memory there is nothing to estimate from."""
    assert estimate_hourly(SMALL, "r1", "z9.huge", Shape()) is None
