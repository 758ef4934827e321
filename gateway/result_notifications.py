"""Queueing the workers' "instruction executed" notification task, by name, on their Celery broker.

The gateway never imports the workers: it sends the task by its registered name with the
arguments the task takes (tenant id, instruction id, as strings), like a message on a topic.
Notifying is best effort: the result is stored and audited whether or not the broker answers.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol

import structlog
from celery import Celery
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

from protocol.tasks import NOTIFY_INSTRUCTION_RESULT
from protocol.trace_context import current_carrier

DEFAULT_QUEUE = "slicewise"
"""The workers' default Celery queue."""

_log = structlog.get_logger("gateway.instructions")


class ResultNotifier(Protocol):
    """Announces that an instruction has a result."""

    async def instruction_completed(self, tenant_id: uuid.UUID, instruction_id: uuid.UUID) -> bool:
        """Queue the announcement; whether it was queued."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class CeleryResultNotifier:
    """Sends the notification task to the workers' queue on their Redis broker."""

    def __init__(self, broker_url: str, *, queue: str = DEFAULT_QUEUE) -> None:
        self._queue = queue
        self._app = Celery("slicewise-gateway", broker=broker_url, set_as_current=False)
        self._app.conf.update(
            task_serializer="json",
            accept_content=["json"],
            broker_connection_timeout=2.0,
            broker_connection_retry_on_startup=False,
        )
        self.sent = 0

    async def instruction_completed(self, tenant_id: uuid.UUID, instruction_id: uuid.UUID) -> bool:
        """Queue the task (in a thread: the broker client blocks); False if the broker failed."""
        try:
            await asyncio.to_thread(self._send, [str(tenant_id), str(instruction_id)])
        except (KombuError, OperationalError, RedisError, OSError) as e:
            _log.warning(
                "could not queue the instruction notification",
                instruction_id=str(instruction_id),
                error=type(e).__name__,
            )
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        """Close the broker connections."""
        self._app.close()

    def _send(self, args: list[str]) -> None:
        self._app.send_task(
            NOTIFY_INSTRUCTION_RESULT,
            args=args,
            queue=self._queue,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
            # The notification task continues the trace of the result that caused it.
            headers=current_carrier(),
        )
