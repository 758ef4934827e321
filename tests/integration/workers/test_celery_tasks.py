"""Celery tasks run by a real worker thread against the real Redis broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_failure, task_retry
from opentelemetry import trace
from redis.asyncio import Redis

from devstack.process import free_port
from protocol.changes import Cordon
from protocol.instruction import InstructionBody
from protocol.tasks import (
    DAILY_DIGEST,
    EXPIRE_INSTRUCTIONS,
    REFRESH_PRICING,
    RUN_CLUSTER_ANALYSIS,
)
from recommender.pricing.bundled import bundled_catalogue_bytes, bundled_spot_advisor_bytes
from recommender.pricing.pricebook import PriceBook
from store.database import Database
from store.repositories.cluster_costs import ClusterCostRepository
from store.repositories.clusters import ClusterView
from store.repositories.recommendations import OpenSummary, RecommendationRepository
from store.repositories.tenants import TenantView
from store.tables import InstructionRecord
from tests.integration.workers.conftest import eventually
from tests.support.celery_apps import close_app
from tests.support.local_http import serving
from tests.support.spans import RecordingExporter, named
from tests.unit.workers.factories import T0, shop_snapshot, snapshot_message
from workers.celery_app import create_celery_app
from workers.errors import TemporaryError, UnknownClusterError
from workers.ingest.handler import SnapshotIngest
from workers.instructions import store_approved_instruction
from workers.pricing import CACHE_KEY, SPOT_ADVISOR_KEY, current_pricebook
from workers.settings import WorkerSettings
from workers.tasks.runtime import TaskRuntime

# Celery's Redis result backend stores results with SETEX, which redis-py 8 deprecates; the
# warning is Celery's to fix and harmless here.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")

NOW = T0 + timedelta(hours=2)
RESULT_SECONDS = 60


class RecordedDigests:
    """A digest sink that keeps what it was given."""

    def __init__(self) -> None:
        self.delivered: list[tuple[uuid.UUID, list[OpenSummary]]] = []

    async def deliver(self, tenant_id: uuid.UUID, summaries: list[OpenSummary]) -> None:
        self.delivered.append((tenant_id, summaries))


@pytest.fixture
def celery_settings(worker_settings: WorkerSettings) -> WorkerSettings:
    """A queue of this test only; quick, bounded retries."""
    return worker_settings.model_copy(
        update={
            "celery_queue": f"tasks-{uuid.uuid4().hex[:8]}",
            "task_retry_max": 2,
            "task_retry_backoff_max_seconds": 1,
        }
    )


@pytest.fixture
def digests() -> RecordedDigests:
    """Where the daily digest goes in these tests."""
    return RecordedDigests()


@pytest.fixture
def celery_app(celery_settings: WorkerSettings, digests: RecordedDigests) -> Iterator[Celery]:
    """The app with a real worker thread consuming its queue."""
    app = create_celery_app(
        celery_settings, TaskRuntime(celery_settings, digest_sink=digests, clock=lambda: NOW)
    )
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield app
    close_app(app)


async def _run(app: Celery, name: str, *args: str) -> Any:
    """Send a task and wait for its outcome; a failed task raises its exception here.

    The outcome is polled with plain reads, and the result is unsubscribed before returning:
    otherwise its finaliser unsubscribes whenever it is collected, reopening a pub/sub
    connection after the app was closed.
    """
    result = app.send_task(name, args=list(args))
    try:

        async def finished() -> bool:
            return bool(await asyncio.to_thread(result.ready))

        await eventually(finished, within=RESULT_SECONDS, what=f"task {name}")
        outcome = await asyncio.to_thread(lambda: result.result)
    finally:
        await asyncio.to_thread(result.forget)
        # `send_task` subscribed to the result; unsubscribe while the connection is open.
        await asyncio.to_thread(result.backend.remove_pending_result, result)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def test_analysis_task_stores_then_updates_open_recommendations(
    database: Database, tenant: TenantView, cluster: ClusterView, celery_app: Celery
) -> None:
    """The first run creates node-a's consolidation and prices the cluster; the second updates."""
    await SnapshotIngest(database).apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, 1)))
    first = await _run(celery_app, RUN_CLUSTER_ANALYSIS, str(tenant.id), str(cluster.id))
    second = await _run(celery_app, RUN_CLUSTER_ANALYSIS, str(tenant.id), str(cluster.id))
    async with database.tenant(tenant.id) as session:
        stored = await RecommendationRepository(session, tenant.id).list(cluster.id)
        [cost] = await ClusterCostRepository(session, tenant.id).history(cluster.id)
    # node-a on-demand at 0.428 USD/h plus node-b on spot at the Spot Advisor's 55 % discount
    # for m5.2xlarge in eu-west-1, over 730 hours.
    assert first == {
        "created": len(stored),
        "updated": 0,
        "superseded": 0,
        "monthly_cost_usd": 453.04,
    }
    assert second == {**first, "created": 0, "updated": len(stored)}
    assert ("consolidation", "node-a") in {(rec.kind, rec.body["node"]) for rec in stored}
    assert (cost.computed_at, cost.monthly_cost_usd, cost.node_count) == (NOW, 453.04, 2)


async def test_analysis_of_unknown_cluster_fails_without_retrying(
    tenant: TenantView, celery_app: Celery
) -> None:
    """An unknown cluster is permanent: the task fails at once with UnknownClusterError."""
    with pytest.raises(UnknownClusterError):
        await _run(celery_app, RUN_CLUSTER_ANALYSIS, str(tenant.id), str(uuid.uuid4()))


async def test_unreachable_database_is_retried_then_reported_temporary(
    celery_settings: WorkerSettings, digests: RecordedDigests
) -> None:
    """With the database down the task is retried twice, then fails as temporary."""
    settings = celery_settings.model_copy(
        update={"database_url": f"postgresql://nobody@127.0.0.1:{free_port()}/none"}
    )
    app = create_celery_app(settings, TaskRuntime(settings, digest_sink=digests))
    # Watched through signals, with no result backend: an embedded worker thread would
    # otherwise subscribe to each retry's result on a connection nobody closes.
    app.conf.result_backend = "disabled://"
    retries: list[str] = []
    failures: list[BaseException] = []
    failed = threading.Event()

    def on_retry(**_: object) -> None:
        retries.append("retry")

    def on_failure(exception: BaseException, **_: object) -> None:
        failures.append(exception)
        failed.set()

    task_retry.connect(on_retry, weak=False)
    task_failure.connect(on_failure, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            app.send_task(EXPIRE_INSTRUCTIONS)
            assert await asyncio.to_thread(failed.wait, RESULT_SECONDS)
    finally:
        task_retry.disconnect(on_retry)
        task_failure.disconnect(on_failure)
        app.close()
    assert retries == ["retry", "retry"]
    assert [type(error) for error in failures] == [TemporaryError]


async def test_expiry_task_expires_unanswered_instructions_past_expiry(
    database: Database, tenant: TenantView, cluster: ClusterView, celery_app: Celery
) -> None:
    """Past expiry, delivered or not, an unanswered instruction expires; a valid one stays."""
    ids = []
    async with database.tenant(tenant.id) as session:
        for expires, delivered in (
            (NOW - timedelta(minutes=1), False),
            (NOW - timedelta(minutes=1), True),
            (NOW + timedelta(minutes=1), False),
        ):
            body = InstructionBody(
                instruction_id=uuid.uuid4(),
                tenant_id=tenant.id,
                cluster_id=cluster.id,
                issued_at=T0,
                expires_at=expires,
                nonce="0123456789abcdef",
                actions=[Cordon(node="node-a")],
            )
            await store_approved_instruction(session, tenant.id, body, {"body": {}}, now=T0)
            if delivered:
                row = await session.get(InstructionRecord, body.instruction_id)
                assert row is not None
                row.delivered_at = T0
            ids.append(body.instruction_id)
    expired = await _run(celery_app, EXPIRE_INSTRUCTIONS)
    async with database.tenant(tenant.id) as session:
        statuses = [(await session.get(InstructionRecord, i)).status for i in ids]  # type: ignore[union-attr]
    assert expired >= 2
    assert statuses == ["expired", "expired", "approved"]


class _Catalogue(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - overridden signature
        del format, args


@contextlib.contextmanager
def _published(body: bytes, path: str) -> Iterator[str]:
    """A local server answering every GET with `body`; yields the URL of `path` on it."""
    with serving(type("Published", (_Catalogue,), {"body": body})) as url:
        yield f"{url}{path}"


@pytest.fixture
def catalogue_url() -> Iterator[str]:
    """A local server publishing the AWS catalogue with a newer date and one changed price."""
    doc = json.loads(bundled_catalogue_bytes("aws"))
    doc["as_of"] = "2099-01-01"
    region = next(iter(doc["prices"]))
    instance = next(iter(doc["prices"][region]))
    doc["prices"][region][instance] = 1234.5
    with _published(json.dumps(doc).encode(), "/catalogue/aws.json") as url:
        yield url


async def _refresh_pricing(
    settings: WorkerSettings, digests: RecordedDigests, cached_key: str
) -> tuple[list[str], PriceBook]:
    """Run the refresh task on a worker, then build the price book; `cached_key` is removed."""
    app = create_celery_app(settings, TaskRuntime(settings, digest_sink=digests))
    redis = Redis.from_url(settings.redis_url)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            refreshed = await _run(app, REFRESH_PRICING)
        return refreshed, await current_pricebook(redis)
    finally:
        await redis.delete(cached_key)
        await redis.aclose()
        close_app(app)


async def test_pricing_refresh_caches_a_newer_catalogue(
    celery_settings: WorkerSettings, digests: RecordedDigests, catalogue_url: str
) -> None:
    """The fetched catalogue lands in Redis and the next price book uses it."""
    settings = celery_settings.model_copy(update={"pricing_url": catalogue_url})
    replaced, pricebook = await _refresh_pricing(
        settings, digests, CACHE_KEY.format(provider="aws")
    )
    assert replaced == ["aws"]
    assert pricebook.catalogues["aws"].as_of == "2099-01-01"


@pytest.fixture
def advisor_url() -> Iterator[str]:
    """A local server publishing Spot Advisor data with p3.2xlarge in us-east-1 changed."""
    doc = json.loads(bundled_spot_advisor_bytes())
    doc["spot_advisor"]["us-east-1"]["Linux"]["p3.2xlarge"] = {"s": 10, "r": 0}
    with _published(json.dumps(doc).encode(), "/spot-advisor-data.json") as url:
        yield url


async def test_live_pricebook_carries_the_bundled_spot_advisor(
    celery_settings: WorkerSettings,
) -> None:
    """With nothing fetched, analyses price spot from the bundled advisor, with its bucket."""
    redis = Redis.from_url(celery_settings.redis_url)
    try:
        price = (await current_pricebook(redis)).price("aws", "us-east-1", "p3.2xlarge")
    finally:
        await redis.aclose()
    assert price is not None
    assert price.spot_savings == pytest.approx(0.8)
    assert price.spot_savings_estimated is False
    assert price.interruption is not None
    assert price.interruption.label == ">20%"


async def test_pricing_refresh_caches_newer_spot_advisor_data(
    celery_settings: WorkerSettings, digests: RecordedDigests, advisor_url: str
) -> None:
    """Advisor data fetched from the configured URL replaces the bundled snapshot."""
    settings = celery_settings.model_copy(update={"spot_advisor_url": advisor_url})
    refreshed, pricebook = await _refresh_pricing(settings, digests, SPOT_ADVISOR_KEY)
    price = pricebook.price("aws", "us-east-1", "p3.2xlarge")
    assert refreshed == ["spot-advisor"]
    assert price is not None
    assert price.spot_savings == pytest.approx(0.1)
    assert price.interruption is not None
    assert price.interruption.label == "<5%"


async def test_pricing_refresh_without_url_is_a_no_op(celery_app: Celery) -> None:
    """No configured URL: nothing fetched, nothing replaced."""
    assert await _run(celery_app, REFRESH_PRICING) == []


async def test_daily_digest_reaches_each_tenant_once_a_day(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    celery_app: Celery,
    digests: RecordedDigests,
) -> None:
    """The tenant's open recommendations are summarised once; a second run the same day skips."""
    await SnapshotIngest(database).apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, 1)))
    await _run(celery_app, RUN_CLUSTER_ANALYSIS, str(tenant.id), str(cluster.id))
    await _run(celery_app, DAILY_DIGEST)
    await _run(celery_app, DAILY_DIGEST)
    mine = [summaries for tenant_id, summaries in digests.delivered if tenant_id == tenant.id]
    assert len(mine) == 1
    assert [s.cluster_id for s in mine[0]] == [cluster.id]
    assert mine[0][0].count >= 1


async def test_a_task_runs_in_the_trace_of_whoever_sent_it(
    celery_app: Celery, spans: RecordingExporter
) -> None:
    """The task's span is a child of the span that was current when it was sent."""
    with trace.get_tracer("tests").start_as_current_span("send") as sender:
        await _run(celery_app, REFRESH_PRICING)
    finished = await spans.wait_for(lambda found: any(s.name == REFRESH_PRICING for s in found))

    task = named(finished, REFRESH_PRICING)

    assert task.parent is not None
    assert (task.context.trace_id, task.parent.span_id) == (
        sender.get_span_context().trace_id,
        sender.get_span_context().span_id,
    )
