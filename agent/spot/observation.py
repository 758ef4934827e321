"""What a metadata poll saw, and the port every cloud's source implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from protocol.snapshot import Provider
from protocol.spot import NoticeKind


@dataclass(frozen=True, slots=True)
class Observation:
    """One interruption event as the cloud announced it."""

    kind: NoticeKind
    key: str
    """The cloud's identity of the event (its time, id), so each is reported once."""
    deadline: datetime | None
    action: str | None
    instance_id: str | None = None
    zone: str | None = None


class SpotSource(Protocol):
    """A cloud's metadata service, polled for interruption events."""

    provider: Provider
    waits: bool
    """True when `poll` itself blocks until something changes (no sleep between polls)."""

    async def poll(self) -> list[Observation]:
        """Events announced right now; raises `TemporaryError` when the service fails."""
        ...
