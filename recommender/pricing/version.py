"""A price book's version: a digest of every price and spot term it answers from.

Two price books with the same version price every node alike, so a recommendation priced with
one of them needs no re-pricing while its other inputs stay the same.
"""

from __future__ import annotations

import hashlib
import json

from recommender.pricing.pricebook import PriceBook


def pricebook_version(book: PriceBook) -> str:
    """`pb-` and 16 hex digits of a SHA-256 over the catalogues' prices and the spot terms."""
    document: dict[str, object] = {
        "default_spot_savings": book.default_spot_savings,
        "default_provider": book.default_provider,
        "catalogues": {
            provider: {
                "as_of": catalogue.as_of,
                "currency": catalogue.currency,
                "prices": {region: dict(types) for region, types in catalogue.prices.items()},
                "shapes": {
                    name: [spec.vcpu, spec.memory_gib, spec.gpus]
                    for name, spec in catalogue.instance_types.items()
                },
            }
            for provider, catalogue in book.catalogues.items()
        },
        "spot": sorted(
            f"{region}|{os}|{instance_type}|{offer.savings}|{offer.interruption.index}"
            for (region, os, instance_type), offer in (
                book.advisor.offers.items() if book.advisor else ()
            )
        ),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return "pb-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
