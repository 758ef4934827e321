"""A price book: catalogues of every provider plus spot terms, answering "what does X cost"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from recommender.pricing.estimate import HourlyPrice, PriceBasis, Shape, estimate_hourly
from recommender.pricing.instances import Catalogue
from recommender.pricing.spot_advisor import InterruptionBucket, SpotAdvisor

DEFAULT_SPOT_SAVINGS = 0.6
"""Discount assumed where no advisor data exists (GCP Spot VMs and Azure Spot list 60-90 %)."""


@dataclass(frozen=True, slots=True)
class InstancePrice:
    """On-demand and spot price of one instance type in one region."""

    instance_type: str | None
    region: str
    on_demand: HourlyPrice
    spot_savings: float
    """Spot discount against on-demand, as a fraction."""
    spot_savings_estimated: bool
    interruption: InterruptionBucket | None = None

    @property
    def on_demand_hourly(self) -> float:
        """On-demand USD per hour."""
        return self.on_demand.usd

    @property
    def spot_hourly(self) -> float:
        """Spot USD per hour."""
        return self.on_demand.usd * (1.0 - self.spot_savings)

    @property
    def estimated(self) -> bool:
        """Whether the on-demand price is an estimate."""
        return self.on_demand.estimated


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Everything needed to price nodes, pods and savings."""

    catalogues: Mapping[str, Catalogue]
    advisor: SpotAdvisor | None = None
    default_spot_savings: float = DEFAULT_SPOT_SAVINGS
    default_provider: str = "aws"

    def _catalogue_for(self, provider: str, instance_type: str | None) -> Catalogue | None:
        if provider in self.catalogues:
            return self.catalogues[provider]
        # Provider unknown ("other"): whichever catalogue lists the type, else the default one.
        for catalogue in self.catalogues.values():
            if instance_type is not None and catalogue.spec(instance_type) is not None:
                return catalogue
        return self.catalogues.get(self.default_provider)

    def price(
        self,
        provider: str,
        region: str | None,
        instance_type: str | None,
        shape: Shape | None = None,
    ) -> InstancePrice | None:
        """Price an instance; None when neither the type nor its shape is known."""
        catalogue = self._catalogue_for(provider, instance_type)
        if catalogue is None:
            return None
        where = region or (catalogue.regions[0] if catalogue.regions else "")
        known = catalogue.spec(instance_type) if instance_type else None
        if shape is None or shape.vcpu is None:
            shape = Shape(known.vcpu, known.memory_gib, known.gpus) if known else (shape or Shape())
        on_demand = estimate_hourly(catalogue, where, instance_type, shape)
        if on_demand is None:
            return None
        offer = (
            self.advisor.offer(where, instance_type)
            if self.advisor is not None and instance_type is not None
            else None
        )
        return InstancePrice(
            instance_type=instance_type,
            region=where,
            on_demand=on_demand,
            spot_savings=offer.savings if offer else self.default_spot_savings,
            spot_savings_estimated=offer is None,
            interruption=offer.interruption if offer else None,
        )


__all__ = ["InstancePrice", "PriceBasis", "PriceBook", "Shape"]
