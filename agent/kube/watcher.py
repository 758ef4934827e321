"""List, then watch, one kind: resume from the last resourceVersion, relist on 410 Gone.

A broken stream (API server restarted, network blip) is resumed from the resourceVersion of
the last event seen, so no change is lost and nothing is replayed. When the server no longer
has that version (410 Gone: etcd compacted, or a fresh watch cache), the kind is listed again
and the table replaced, which also catches deletions that happened while disconnected.

A refusal (401/403) stops the agent with the permission to grant, except while a kind that was
already read is refused for less than the grace period: a restarted API server refuses requests
until its authenticator and RBAC caches are filled, and that is no reason to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx2
import structlog
from lightkube import ApiError, AsyncClient
from lightkube.core.resource import api_info
from pydantic import ValidationError

from agent.backoff import Backoff
from agent.changes import Entry
from agent.errors import MissingPermissionError, PermanentError
from agent.inventory import Inventory
from agent.kube.kinds import KindSpec
from agent.metrics import AgentMetrics
from agent.rbac import Permission

ALL_NAMESPACES = "*"
WATCH_GRACE_SECONDS = 15.0
"""Client-side margin over the server-side watch timeout, for streams that die silently."""


def status_code(error: httpx2.HTTPStatusError) -> int | None:
    """The HTTP status of a failed request, or of an ERROR event inside a watch stream."""
    if isinstance(error, ApiError) and error.status is not None and error.status.code:
        return int(error.status.code)
    # ApiError built from a watch ERROR event carries a Status but no response.
    response: httpx2.Response | None = getattr(error, "response", None)
    return response.status_code if response is not None else None


class KindWatcher:
    """Keeps one inventory table current for the life of the agent."""

    def __init__(
        self,
        client: AsyncClient,
        spec: KindSpec,
        inventory: Inventory,
        *,
        chunk_size: int = 500,
        watch_timeout: int = 290,
        backoff: Backoff | None = None,
        refusal_grace: float = 120.0,
        metrics: AgentMetrics | None = None,
    ) -> None:
        """Watch `spec` through `client` into `inventory`; `refusal_grace` is in seconds."""
        self._metrics = metrics or AgentMetrics()
        self._client = client
        self._spec = spec
        self._inventory = inventory
        self._chunk_size = chunk_size
        self._watch_timeout = watch_timeout
        self._backoff = backoff or Backoff()
        self._resource: type[Any] | None = None
        self._refusal_grace = refusal_grace
        self._was_served = False
        self._refusals: tuple[float, float] | None = None
        """The first and the latest refusal (loop time) of the refusals now in a row."""
        self.interruptions = 0
        """Failed requests and broken streams so far (each was retried)."""
        self._log = structlog.get_logger("agent.watch").bind(kind=spec.kind)

    @property
    def table_version(self) -> str | None:
        """Where the next watch resumes (None: the next step is a list)."""
        return self._inventory.tables[self._spec.kind].resource_version

    async def run(self) -> None:
        """List and watch until cancelled; raises only for permanent errors."""
        while True:
            try:
                if self.table_version is None:
                    await self._list()
                    self._served()
                await self._watch()
            except httpx2.HTTPStatusError as e:
                code = status_code(e)
                if code == 410:
                    self._log.info("watch_expired_relisting", resource_version=self.table_version)
                    self._inventory.tables[self._spec.kind].resource_version = None
                    self._metrics.relists.labels(self._spec.kind).inc()
                    continue
                if code in (401, 403) and self._refusal_tolerated():
                    await self._pause("kube_request_refused", e)
                    continue
                self._raise_if_permanent(code, e)
                await self._pause("kube_request_failed", e)
            except (httpx2.HTTPError, httpx2.StreamError) as e:
                await self._pause("kube_connection_failed", e)

    async def _list(self) -> None:
        """Load every object of the kind from the newest API version the server serves."""
        for resource in self._spec.candidates:
            try:
                entries, version = await self._list_with(resource)
            except httpx2.HTTPStatusError as e:
                if status_code(e) == 404 and resource is not self._spec.candidates[-1]:
                    continue
                raise
            self._resource = resource
            await self._inventory.replace(self._spec.kind, entries, version)
            self._log.info("listed", count=len(entries), resource_version=version)
            return

    async def _list_with(self, resource: type[Any]) -> tuple[dict[str, Entry], str]:
        """One full (chunked) list through `resource`."""
        kwargs: dict[str, Any] = {"chunk_size": self._chunk_size}
        if self._spec.namespaced:
            kwargs["namespace"] = ALL_NAMESPACES
        listing = self._client.list(resource, **kwargs)
        entries: dict[str, Entry] = {}
        async for obj in listing:
            uid = obj.metadata.uid if obj.metadata is not None else None
            entry = self._convert(obj)
            if uid and entry is not None:
                entries[uid] = entry
        return entries, listing.resourceVersion

    async def _watch(self) -> None:
        """Apply watch events from the table's resourceVersion until the stream ends."""
        resource = self._resource or self._spec.candidates[0]
        kwargs: dict[str, Any] = {
            "resource_version": self.table_version,
            "server_timeout": self._watch_timeout,
        }
        if self._spec.namespaced:
            kwargs["namespace"] = ALL_NAMESPACES
        events = self._client.watch(resource, **kwargs)
        # A stream that dies silently (no FIN) would otherwise hang forever; past the server's
        # own timeout plus a margin, the watch is simply renewed from the table's version.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._watch_timeout + WATCH_GRACE_SECONDS):
                # lightkube annotates watch() as an AsyncIterable; it is an async generator, and
                # closing it is what ends the HTTP stream when the watch is left early.
                async with contextlib.aclosing(events) as stream:  # type: ignore[type-var]
                    async for event, obj in stream:
                        await self._apply(event, obj)

    async def _apply(self, event: str, obj: Any) -> None:
        """One watch event into the inventory."""
        meta = obj.metadata
        if meta is None or not meta.uid:
            return
        entry = None if event == "DELETED" else self._convert(obj)
        await self._inventory.apply(
            self._spec.kind, event, meta.uid, entry, meta.resourceVersion or ""
        )
        self._metrics.watch_events.labels(self._spec.kind, event).inc()
        self._served()

    def _served(self) -> None:
        """A request succeeded: the next failure starts its retries and its grace afresh."""
        self._was_served = True
        self._refusals = None
        self._backoff.reset()

    def _refusal_tolerated(self) -> bool:
        """Whether a refusal is still taken as the API server catching up (and retried).

        Refusals are in a row when each follows the one before within the longest retry delay
        (plus a margin); a later one, after a watch that was served meanwhile, starts afresh.
        """
        if not self._was_served:
            return False
        now = asyncio.get_running_loop().time()
        first = now
        if self._refusals is not None:
            before, latest = self._refusals
            if now - latest <= self._backoff.cap + WATCH_GRACE_SECONDS:
                first = before
        self._refusals = (first, now)
        return now - first < self._refusal_grace

    def _convert(self, obj: Any) -> Entry | None:
        """The object's entry; one that does not convert is logged and left out."""
        try:
            return self._spec.convert(obj)
        except (ValueError, ValidationError) as e:
            name = obj.metadata.name if obj.metadata is not None else "?"
            self._log.warning("object_not_converted", name=name, error=str(e)[:500])
            return None

    def _raise_if_permanent(self, code: int | None, error: Exception) -> None:
        """Stop on a refused permission or rejected credentials: retrying cannot help."""
        if code == 403:
            info = api_info(self._resource or self._spec.candidates[0])
            verb = "watch" if self.table_version is not None else "list"
            raise MissingPermissionError(
                [str(Permission(verb, info.plural, info.resource.group))]
            ) from error
        if code == 401:
            raise PermanentError(
                "the Kubernetes API refused the agent's credentials (HTTP 401)"
            ) from error

    async def _pause(self, event: str, error: Exception) -> None:
        """Log a temporary failure and wait a jittered, growing delay."""
        self.interruptions += 1
        self._metrics.watch_interruptions.labels(self._spec.kind).inc()
        delay = self._backoff.next_delay()
        self._log.warning(event, error=str(error)[:500], retry_in=round(delay, 2))
        await asyncio.sleep(delay)
