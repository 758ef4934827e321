"""Prices for instance types a catalogue does not list, flagged as estimates.

Three fall-backs, most specific first: the same type's price in the catalogue's other regions;
the per-vCPU rate of the nearest catalogued size of the same family; and generic per-vCPU,
per-GiB and per-GPU rates fitted on the whole catalogue.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from recommender.pricing.instances import Catalogue, family_of


class PriceBasis(StrEnum):
    """Where an hourly price came from."""

    CATALOGUE = "catalogue"
    OTHER_REGION = "other-region"
    FAMILY_RATE = "family-rate"
    GENERIC_RATE = "generic-rate"


@dataclass(frozen=True, slots=True)
class Shape:
    """What a node offers, as far as it is known (from its capacity when not catalogued)."""

    vcpu: float | None = None
    memory_gib: float | None = None
    gpus: int = 0


@dataclass(frozen=True, slots=True)
class HourlyPrice:
    """An on-demand hourly price and its basis."""

    usd: float
    basis: PriceBasis

    @property
    def estimated(self) -> bool:
        """Whether the price was derived rather than listed."""
        return self.basis is not PriceBasis.CATALOGUE


def _region_prices(catalogue: Catalogue, region: str) -> dict[str, float]:
    listed = catalogue.prices.get(region)
    if listed:
        return dict(listed)
    # A region the catalogue does not cover: the median over covered regions is the best guess.
    merged: dict[str, list[float]] = {}
    for prices in catalogue.prices.values():
        for name, price in prices.items():
            merged.setdefault(name, []).append(price)
    return {name: statistics.median(values) for name, values in merged.items()}


def _other_region(catalogue: Catalogue, instance_type: str) -> float | None:
    prices = [p[instance_type] for p in catalogue.prices.values() if instance_type in p]
    return statistics.median(prices) if prices else None


def _family_rate(
    catalogue: Catalogue, region: str, instance_type: str, shape: Shape
) -> float | None:
    vcpu = shape.vcpu
    if vcpu is None or vcpu <= 0:
        return None
    prices = _region_prices(catalogue, region)
    members = [
        catalogue.instance_types[name]
        for name in catalogue.family_members(family_of(instance_type))
        if name in prices and catalogue.instance_types[name].vcpu > 0
    ]
    if not members:
        return None
    nearest = min(members, key=lambda s: (s.gpus != shape.gpus, abs(s.vcpu - vcpu)))
    return prices[nearest.name] / nearest.vcpu * vcpu


def generic_rates(catalogue: Catalogue, region: str) -> tuple[float, float, float]:
    """USD per vCPU-hour, per GiB-hour and per GPU-hour fitted on the catalogue's prices."""
    prices = _region_prices(catalogue, region)
    cpu_only = [
        (catalogue.instance_types[name], price)
        for name, price in prices.items()
        if catalogue.instance_types[name].gpus == 0
    ]
    if len(cpu_only) >= 2:
        design = np.array([[s.vcpu, s.memory_gib] for s, _ in cpu_only], dtype=np.float64)
        target = np.array([price for _, price in cpu_only], dtype=np.float64)
        solution, *_ = np.linalg.lstsq(design, target, rcond=None)
        per_vcpu, per_gib = (max(float(x), 0.0) for x in solution)
    else:
        # Typical general-purpose list prices, used only when the catalogue has too little data.
        per_vcpu, per_gib = 0.033, 0.0045
    per_gpu_samples = [
        (price - per_vcpu * spec.vcpu - per_gib * spec.memory_gib) / spec.gpus
        for name, price in prices.items()
        if (spec := catalogue.instance_types[name]).gpus > 0
    ]
    per_gpu = max(statistics.median(per_gpu_samples), 0.0) if per_gpu_samples else 1.0
    return per_vcpu, per_gib, per_gpu


def estimate_hourly(
    catalogue: Catalogue, region: str, instance_type: str | None, shape: Shape
) -> HourlyPrice | None:
    """The on-demand hourly price of an instance, listed or estimated; None when unknowable."""
    if instance_type is not None:
        listed = catalogue.hourly(region, instance_type)
        if listed is not None:
            return HourlyPrice(listed, PriceBasis.CATALOGUE)
        elsewhere = _other_region(catalogue, instance_type)
        if elsewhere is not None:
            return HourlyPrice(elsewhere, PriceBasis.OTHER_REGION)
        by_family = _family_rate(catalogue, region, instance_type, shape)
        if by_family is not None:
            return HourlyPrice(by_family, PriceBasis.FAMILY_RATE)
    if shape.vcpu is None or shape.memory_gib is None:
        return None
    per_vcpu, per_gib, per_gpu = generic_rates(catalogue, region)
    usd = per_vcpu * shape.vcpu + per_gib * shape.memory_gib + per_gpu * shape.gpus
    return HourlyPrice(usd, PriceBasis.GENERIC_RATE)
