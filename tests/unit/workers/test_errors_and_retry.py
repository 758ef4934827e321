"""Which errors are retried, and how long the consumer waits between attempts."""

from __future__ import annotations

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError
from sqlalchemy.exc import IntegrityError

from store.errors import TemporaryStoreError
from workers.consumer import RetryPolicy
from workers.errors import PoisonMessageError, TemporaryError, is_temporary


@pytest.mark.parametrize(
    "error",
    [
        TemporaryStoreError("db down"),
        TemporaryError("later"),
        KafkaConnectionError(),
        KafkaTimeoutError(),
        ConnectionRefusedError(),
        TimeoutError(),
        httpx.ConnectTimeout("slow"),
    ],
)
def test_unavailability_is_temporary(error: BaseException) -> None:
    """Storage, broker, network and timeout failures are retried."""
    assert is_temporary(error)


@pytest.mark.parametrize(
    "error",
    [
        PoisonMessageError("bad"),
        IntegrityError("insert", {}, Exception("fk")),
        ValueError("bug"),
        MessageSizeTooLargeError(),
    ],
)
def test_everything_else_is_permanent(error: BaseException) -> None:
    """Poison, constraint violations, bugs and non-retriable broker errors are given up on."""
    assert not is_temporary(error)


def test_back_off_doubles_up_to_the_cap() -> None:
    """0.5, 1, 2, 4, 5, 5 with a 5-second cap."""
    delays = RetryPolicy(initial_seconds=0.5, max_seconds=5.0).delays()
    assert [next(delays) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
