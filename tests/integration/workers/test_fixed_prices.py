"""Prices fixed per analysis run, in the real database: new usage alone never moves a saving."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from protocol.recommendation import Recommendation
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.version import pricebook_version
from store.database import Database
from store.repositories.cluster_costs import ClusterCostRepository
from store.repositories.clusters import ClusterRepository
from store.repositories.recommendations import RecommendationRepository
from store.repositories.tenants import TenantView
from tests.integration.console.replayed_cluster import DEMO, ingest_hours, replay_and_analyse
from workers.tasks.analysis_job import analyse_and_store

pytestmark = pytest.mark.skipif(bool(DEMO.missing()), reason="demo traces missing")

HOURS = 26
PODS = 80


async def _open(
    database: Database, tenant: TenantView, cluster_id: uuid.UUID
) -> dict[uuid.UUID, Recommendation]:
    async with database.tenant(tenant.id) as session:
        rows = await RecommendationRepository(session, tenant.id).list(cluster_id)
    return {row.id: Recommendation.model_validate(row.body) for row in rows if row.status == "open"}


def _dearer(book: PriceBook) -> PriceBook:
    """The same book with every on-demand price 10 % higher."""
    catalogues = {
        provider: replace(
            catalogue,
            prices={
                region: {name: usd * 1.1 for name, usd in types.items()}
                for region, types in catalogue.prices.items()
            },
        )
        for provider, catalogue in book.catalogues.items()
    }
    return PriceBook(catalogues, book.advisor)


async def test_more_usage_keeps_prices_and_a_new_price_book_reprices(
    database: Database, tenant: TenantView
) -> None:
    """Two more hours of usage: every saving stays; a dearer price book: the savings move."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(
            "fixed-prices", provider="aws", region="us-east-1"
        )
    now = datetime.now(UTC) - timedelta(hours=3)
    replayed = await replay_and_analyse(
        database, tenant.id, cluster.id, now=now, hours=HOURS, pods=PODS
    )
    first = await _open(database, tenant, cluster.id)
    book = PriceBook(bundled_catalogues(), bundled_spot_advisor())
    assert first
    assert {r.price_book_version for r in first.values()} == {pricebook_version(book)}

    later = now + timedelta(hours=2)
    await ingest_hours(database, tenant.id, replayed.fleet, replayed.model, last=later, hours=2)
    await analyse_and_store(database, book, tenant.id, cluster.id, now=later)
    second = await _open(database, tenant, cluster.id)
    unchanged = [
        rid
        for rid, rec in second.items()
        if rid in first and rec.computed_from == first[rid].computed_from
    ]
    assert unchanged
    assert {rid: second[rid].monthly_saving_usd for rid in unchanged} == {
        rid: first[rid].monthly_saving_usd for rid in unchanged
    }

    dearer = _dearer(book)
    await analyse_and_store(database, dearer, tenant.id, cluster.id, now=later)
    third = await _open(database, tenant, cluster.id)
    assert {r.price_book_version for r in third.values()} == {pricebook_version(dearer)}
    async with database.tenant(tenant.id) as session:
        runs = await ClusterCostRepository(session, tenant.id).history(cluster.id)
    assert [run.price_book_version for run in runs] == [
        pricebook_version(book),
        pricebook_version(dearer),
    ]
    moved = [
        rid
        for rid in unchanged
        if rid in third and third[rid].monthly_saving_usd != second[rid].monthly_saving_usd
    ]
    assert moved
