"""Worker errors, split by what the worker does about them: retry later, or give up."""

from __future__ import annotations

import httpx
from aiokafka.errors import KafkaError, KafkaTimeoutError

from store.errors import TemporaryStoreError


class WorkerError(Exception):
    """Base class of errors raised by worker code."""


class TemporaryError(WorkerError):
    """Retrying later may succeed: keep the message (do not commit) and back off."""


class PermanentError(WorkerError):
    """Retrying cannot help: dead-letter the message (or fail the task) and move on."""


class PoisonMessageError(PermanentError):
    """A message that cannot be decoded or does not satisfy its contract."""


class UnknownClusterError(PermanentError):
    """A message names a cluster that is not registered for its tenant."""


def is_temporary(error: BaseException) -> bool:
    """Whether `error` is worth retrying: storage or broker unavailability, timeouts, I/O."""
    if isinstance(error, TemporaryError | TemporaryStoreError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, KafkaTimeoutError):
        return True  # a produce that timed out; aiokafka does not mark it retriable
    if isinstance(error, KafkaError):
        # aiokafka marks the errors a retry can cure (leader moves, disconnects).
        return bool(error.retriable)
    return isinstance(error, httpx.TransportError)
