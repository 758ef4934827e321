"""Celery queue depth as a Prometheus gauge: the autoscaling signal of the Celery workers."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class CeleryQueueDepth(Collector):
    """Reads the length of the Celery queue in Redis at every scrape."""

    def __init__(self, redis_url: str, queue: str) -> None:
        """Watch `queue` on the broker at `redis_url`."""
        self._client = redis.Redis.from_url(redis_url, socket_timeout=2.0)
        self._queue = queue

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The family this collector serves, without reading Redis."""
        yield _family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One sample: tasks waiting in the queue (absent when Redis cannot be reached)."""
        family = _family()
        try:
            depth = int(self._client.llen(self._queue))
        except redis.RedisError:
            return
        family.add_metric([self._queue], depth)
        yield family

    def close(self) -> None:
        """Release the Redis connection."""
        self._client.close()


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "slicewise_celery_queue_length", "Tasks waiting in the Celery queue.", labels=["queue"]
    )
