"""The executor's real notice endpoint on a loopback port, in front of a recording intake.

The intake stands in for the spot fallback (which needs a cluster to act on): it records each
notice and, like the fallback, answers `duplicate` for a notice id it has taken before.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from executor.notices.endpoint import Acceptance, AcceptanceStatus, NoticeEndpoint
from executor.notices.server import NoticeServer
from protocol.spot import SpotNotice


@dataclass
class RecordingIntake:
    """Keeps every notice it is given, first copy only."""

    notices: list[SpotNotice] = field(default_factory=list)
    offered: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def accept(self, notice: SpotNotice) -> Acceptance:
        """Record a new notice; a known id is a duplicate."""
        self.offered += 1
        self._arrived.set()
        if any(n.notice_id == notice.notice_id for n in self.notices):
            return Acceptance(AcceptanceStatus.DUPLICATE)
        self.notices.append(notice)
        return Acceptance(AcceptanceStatus.ACCEPTED)

    async def wait_for(self, condition: Callable[[], bool], within: float = 20.0) -> None:
        """Wait until `condition()` holds after some arrival."""
        async with asyncio.timeout(within):
            while not condition():
                await self._arrived.wait()
                self._arrived.clear()


@contextlib.asynccontextmanager
async def serving_endpoint(
    intake: RecordingIntake,
    cluster_id: uuid.UUID,
    *,
    token: str | None = None,
    max_body: int = 16_384,
    port: int = 0,
) -> AsyncIterator[str]:
    """Serve the endpoint on 127.0.0.1 (`port`, or a free one); yields its URL; stops on exit."""
    endpoint = NoticeEndpoint(intake, cluster_id=cluster_id, token=token)
    server = NoticeServer(endpoint, host="127.0.0.1", port=port, max_body=max_body)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()
