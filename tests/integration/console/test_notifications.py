"""Webhook notifications sent by Celery tasks (a real worker thread) to a local HTTP receiver."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from sqlalchemy.engine import URL

from auth.outbound_urls import OutboundUrlPolicy, parse_networks
from devstack.services import ServiceUrls
from protocol.tasks import NOTIFY_INSTRUCTION_RESULT, NOTIFY_NEW_RECOMMENDATIONS
from store.database import Database
from store.repositories.console_instructions import InstructionQueries
from store.repositories.console_paging import PageRequest
from store.repositories.tenants import TenantRepository
from store.roles import DEFAULT_APP_ROLE, app_url
from tests.integration.console.seed import SeededTenant
from tests.support.celery_apps import close_app
from tests.support.local_http import serving
from workers.errors import PermanentError
from workers.notifications import (
    NotificationSender,
    register_notification_tasks,
)
from workers.settings import WorkerSettings

# Celery's Redis result backend stores results with SETEX, which redis-py 8 deprecates; the
# warning is Celery's to fix and harmless here.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")

RESULT_SECONDS = 60


@dataclass
class Receiver:
    """A local webhook endpoint that records posts and fails the first ones on request."""

    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    """Status codes to answer, in order, before answering 200."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The receiver, served by a thread on a free port."""
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state = holder[0]
            state.posts.append(json.loads(self.rfile.read(length)))
            status = state.failures.pop(0) if state.failures else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - overridden signature
            del format, args

    with serving(Handler) as url:
        holder.append(Receiver(f"{url}/hooks/slack"))
        yield holder[0]


@pytest.fixture
def notify_settings(services: ServiceUrls, owner_database_url: URL) -> WorkerSettings:
    """Worker settings on the session's services, with two quick retries."""
    return WorkerSettings(
        database_url=app_url(owner_database_url, DEFAULT_APP_ROLE).render_as_string(
            hide_password=False
        ),
        redis_url=services.redis_url,
        celery_queue=f"notify-{uuid.uuid4().hex[:8]}",
        task_retry_max=2,
        task_retry_backoff_max_seconds=1,
        log_json=False,
    )


@pytest.fixture
def celery_app(notify_settings: WorkerSettings) -> Iterator[Celery]:
    """A Celery app with only the notification tasks, and a real worker thread."""
    app = Celery("notify-test", broker=notify_settings.redis_url, backend=notify_settings.redis_url)
    app.conf.update(
        task_default_queue=notify_settings.celery_queue,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
    )
    register_notification_tasks(
        app,
        notify_settings,
        sender=NotificationSender(
            console_url="https://console.example",
            key_prefix=f"test:{uuid.uuid4().hex}:",
            # The receiver listens on loopback, which webhooks may reach only when allowed.
            outbound=OutboundUrlPolicy(allowed_networks=parse_networks(["127.0.0.1/32"])),
        ),
    )
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield app
    # A failed task leaves result objects in reference cycles; their finalisers talk to Redis,
    # so collect them now, while this session's Redis still runs. Then close the result
    # backend's connections: left open, the garbage collector finds their sockets in a later
    # test and warns there.
    gc.collect()
    close_app(app)


async def _run(app: Celery, name: str, *args: object) -> Any:
    result = app.send_task(name, args=list(args))
    try:
        value = await asyncio.to_thread(result.get, timeout=RESULT_SECONDS, propagate=False)
        failed = result.failed()
    finally:
        result.forget()
    # Raised only after the result is gone: a traceback holding it would keep it alive until
    # after the session's Redis stopped, and its finaliser would then fail to unsubscribe.
    del result
    if failed:
        raise value
    return value


async def _hook(database: Database, tenant_id: uuid.UUID, url: str) -> None:
    async with database.tenant(tenant_id) as session:
        await TenantRepository(session).update_settings({"webhook_url": url})


def _open_ids(seeded: SeededTenant) -> list[str]:
    names = ("rightsizing", "xss", "spot", "consolidation", "gpu")
    return [str(seeded.recommendations[name]) for name in names]


async def test_high_value_recommendations_are_announced(
    celery_app: Celery, receiver: Receiver, seeded: SeededTenant, database: Database
) -> None:
    """Of five new recommendations, the three saving at least $500 a month are posted once."""
    await _hook(database, seeded.tenant_id, receiver.url)
    announced = await _run(
        celery_app, NOTIFY_NEW_RECOMMENDATIONS, str(seeded.tenant_id), _open_ids(seeded)
    )
    (post,) = receiver.posts
    # GPU sharing $5,980.16 + spot $1,390.39 + consolidation $560.64.
    assert announced == 3
    assert post["text"] == "3 new recommendations worth $7,931/month"
    assert [b["type"] for b in post["blocks"]] == ["header", "section", "section", "section"]
    assert post["blocks"][1]["text"]["text"].startswith(
        f"*<https://console.example/console/recommendations/{seeded.recommendations['gpu']}|"
    )


async def test_receiver_errors_are_retried(
    celery_app: Celery, receiver: Receiver, seeded: SeededTenant, database: Database
) -> None:
    """Two 503s, then 200: three posts, and the task succeeds."""
    await _hook(database, seeded.tenant_id, receiver.url)
    receiver.failures.extend([503, 503])
    announced = await _run(
        celery_app, NOTIFY_NEW_RECOMMENDATIONS, str(seeded.tenant_id), _open_ids(seeded)
    )
    assert announced == 3
    assert len(receiver.posts) == 3
    assert receiver.posts[0] == receiver.posts[2]


async def test_a_refusal_is_not_retried(
    celery_app: Celery, receiver: Receiver, seeded: SeededTenant, database: Database
) -> None:
    """A 400 means the message will never be accepted: one post, and the task fails."""
    await _hook(database, seeded.tenant_id, receiver.url)
    receiver.failures.append(400)
    with pytest.raises(PermanentError):
        await _run(celery_app, NOTIFY_NEW_RECOMMENDATIONS, str(seeded.tenant_id), _open_ids(seeded))
    assert len(receiver.posts) == 1


async def test_a_delivered_announcement_is_not_repeated(
    celery_app: Celery, receiver: Receiver, seeded: SeededTenant, database: Database
) -> None:
    """The same task run twice (a redelivery) posts once."""
    await _hook(database, seeded.tenant_id, receiver.url)
    for _ in range(2):
        await _run(celery_app, NOTIFY_NEW_RECOMMENDATIONS, str(seeded.tenant_id), _open_ids(seeded))
    assert len(receiver.posts) == 1


async def test_tenant_without_webhook_gets_nothing(
    celery_app: Celery, receiver: Receiver, seeded: SeededTenant
) -> None:
    """No `webhook_url` in the tenant's settings: nothing is sent."""
    announced = await _run(
        celery_app, NOTIFY_NEW_RECOMMENDATIONS, str(seeded.tenant_id), _open_ids(seeded)
    )
    assert (announced, receiver.posts) == (0, [])


async def test_another_tenants_recommendations_are_not_announced(
    celery_app: Celery,
    receiver: Receiver,
    seeded: SeededTenant,
    seeded_other: SeededTenant,
    database: Database,
) -> None:
    """Tenant B's task naming tenant A's recommendations finds none of them."""
    await _hook(database, seeded_other.tenant_id, receiver.url)
    announced = await _run(
        celery_app, NOTIFY_NEW_RECOMMENDATIONS, str(seeded_other.tenant_id), _open_ids(seeded)
    )
    assert (announced, receiver.posts) == (0, [])


async def test_an_applied_instruction_is_announced(
    celery_app: Celery, receiver: Receiver, seeded: SeededTenant, database: Database
) -> None:
    """The executor's result of an instruction is posted with the recommendation it carried out."""
    await _hook(database, seeded.tenant_id, receiver.url)
    async with database.tenant(seeded.tenant_id) as session:
        found = await InstructionQueries(session, seeded.tenant_id).instructions(
            PageRequest(), recommendation_id=seeded.recommendations["applied-0"]
        )
    (instruction,) = found.items
    sent = await _run(
        celery_app, NOTIFY_INSTRUCTION_RESULT, str(seeded.tenant_id), str(instruction.id)
    )
    (post,) = receiver.posts
    assert sent is True
    assert post["text"] == f"Applied on {seeded.clusters['prod'].name}: Right-size fleet/worker-000"
    assert "saves $900/month" in post["blocks"][0]["text"]["text"]
