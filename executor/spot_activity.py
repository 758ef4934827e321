"""Which nodes the SaaS has sent cordon or drain instructions for, and whether it answers.

The spot fallback waits on this before acting on its own: if an instruction for the node arrived
(before or after the local notice was seen), the SaaS is handling the evacuation. While the
executor's last poll of the gateway failed, waiting would only spend the notice's short
deadline, so the fallback acts at once.
"""

from __future__ import annotations

import asyncio

from protocol.changes import Cordon, Drain
from protocol.instruction import Instruction


class NodeActivity:
    """Loop-time stamps of the latest cordon/drain instruction per node."""

    def __init__(self) -> None:
        """Start with no activity."""
        self._last: dict[str, float] = {}
        self._changed = asyncio.Event()

    def note(self, instruction: Instruction) -> None:
        """Record the nodes a verified instruction cordons or drains."""
        now = asyncio.get_running_loop().time()
        nodes = {a.node for a in instruction.body.actions if isinstance(a, Cordon | Drain)}
        for node in nodes:
            self._last[node] = now
        if nodes:
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    def seen_since(self, node: str, since: float) -> bool:
        """True if an instruction for `node` arrived at or after loop time `since`."""
        return self._last.get(node, float("-inf")) >= since

    async def wait_for(self, node: str, since: float, within_seconds: float) -> bool:
        """Wait up to `within_seconds` for an instruction for `node` newer than `since`."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within_seconds
        while not self.seen_since(node, since):
            remaining = end - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=remaining)
            except TimeoutError:
                return self.seen_since(node, since)
        return True


class SaasLink:
    """Whether the executor's latest poll of the gateway got an answer."""

    def __init__(self) -> None:
        """Start assuming the gateway answers (no poll has failed yet)."""
        self.reachable = True

    def answered(self) -> None:
        """A poll got an answer."""
        self.reachable = True

    def failed(self) -> None:
        """A poll failed: the gateway is unreachable or refusing service."""
        self.reachable = False
