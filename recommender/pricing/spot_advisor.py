"""Spot discounts and interruption-frequency buckets from the AWS Spot Instance Advisor.

The advisor document gives, per region, operating system and instance type, `s` (savings in
percent against on-demand) and `r` (an index into `ranges`, the interruption-frequency buckets
such as "<5%" or ">20%").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast


class SpotAdvisorError(ValueError):
    """The advisor document is malformed."""


@dataclass(frozen=True, slots=True)
class InterruptionBucket:
    """One interruption-frequency bucket."""

    index: int
    label: str
    max_percent: float
    """Upper bound of the monthly interruption frequency, in percent."""


@dataclass(frozen=True, slots=True)
class SpotOffer:
    """Spot terms of one instance type in one region."""

    savings: float
    """Discount against on-demand as a fraction (0.7 = 70 % cheaper)."""
    interruption: InterruptionBucket


@dataclass(frozen=True, slots=True)
class SpotAdvisor:
    """Parsed advisor data: offers per (region, os, instance type)."""

    buckets: tuple[InterruptionBucket, ...]
    offers: Mapping[tuple[str, str, str], SpotOffer]

    def offer(self, region: str, instance_type: str, os: str = "Linux") -> SpotOffer | None:
        """Spot terms of an instance type in a region, if the advisor lists it."""
        return self.offers.get((region, os, instance_type))

    def regions(self) -> tuple[str, ...]:
        """Regions the advisor covers."""
        return tuple(sorted({region for region, _, _ in self.offers}))


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise SpotAdvisorError(f"{where}: expected an object")
    return cast("Mapping[str, object]", value)


def _buckets(raw: object) -> tuple[InterruptionBucket, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpotAdvisorError("ranges: expected a non-empty list")
    buckets = []
    for item in raw:
        doc = _mapping(item, "ranges[]")
        index, label, top = doc.get("index"), doc.get("label"), doc.get("max")
        if not isinstance(index, int) or not isinstance(label, str):
            raise SpotAdvisorError("ranges[]: index and label are required")
        if not isinstance(top, int | float):
            raise SpotAdvisorError("ranges[]: max must be a number")
        buckets.append(InterruptionBucket(index=index, label=label, max_percent=float(top)))
    return tuple(sorted(buckets, key=lambda b: b.index))


def spot_advisor_from_dict(doc: Mapping[str, object]) -> SpotAdvisor:
    """Build the advisor from a decoded document."""
    buckets = _buckets(doc.get("ranges"))
    by_index = {b.index: b for b in buckets}
    offers: dict[tuple[str, str, str], SpotOffer] = {}
    for region, per_os in _mapping(doc.get("spot_advisor"), "spot_advisor").items():
        for os_name, per_type in _mapping(per_os, f"spot_advisor.{region}").items():
            for instance_type, raw in _mapping(per_type, f"spot_advisor.{region}").items():
                entry = _mapping(raw, f"spot_advisor.{region}.{os_name}.{instance_type}")
                savings, bucket = entry.get("s"), entry.get("r")
                if not isinstance(savings, int | float) or not isinstance(bucket, int):
                    raise SpotAdvisorError(f"{region}/{os_name}/{instance_type}: bad s or r")
                if bucket not in by_index:
                    raise SpotAdvisorError(f"{region}/{os_name}/{instance_type}: r out of range")
                offers[(region, os_name, instance_type)] = SpotOffer(
                    savings=min(max(float(savings) / 100.0, 0.0), 1.0),
                    interruption=by_index[bucket],
                )
    return SpotAdvisor(buckets=buckets, offers=offers)


def parse_spot_advisor(data: bytes) -> SpotAdvisor:
    """Parse `spot-advisor-data.json` (or a newer document of the same shape)."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SpotAdvisorError(f"spot advisor data is not JSON: {e}") from e
    return spot_advisor_from_dict(_mapping(doc, "spot advisor"))
