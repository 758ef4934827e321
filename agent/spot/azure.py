"""Azure: Spot eviction from the Scheduled Events service of the instance metadata service.

`GET /metadata/scheduledevents?api-version=2020-07-01` (header `Metadata: true`) lists pending
events; a Spot eviction is an event with `EventType: Preempt`, a `NotBefore` time (RFC 1123)
and `Resources` naming the affected VMs. A scale set's events can name other instances, so
only events naming this VM (its compute `name`) count.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from agent.errors import TemporaryError
from agent.spot.observation import Observation
from protocol.snapshot import Provider
from protocol.spot import NoticeKind

EVENTS_PATH = "/metadata/scheduledevents"
EVENTS_API_VERSION = "2020-07-01"
COMPUTE_PATH = "/metadata/instance/compute"
COMPUTE_API_VERSION = "2021-02-01"
HEADERS = {"Metadata": "true"}
PREEMPT = "Preempt"


class AzureScheduledEvents:
    """Polls Scheduled Events for Preempt events naming this VM."""

    provider = Provider.AZURE
    waits = False

    def __init__(self, http: httpx2.AsyncClient, base_url: str) -> None:
        """Poll the instance metadata service at `base_url` (169.254.169.254 on Azure)."""
        self._http = http
        self._base = base_url.rstrip("/")
        self._compute: dict[str, Any] | None = None

    async def poll(self) -> list[Observation]:
        """Preempt events for this VM currently scheduled."""
        compute = await self._instance()
        name = str(compute.get("name") or "")
        if not name:
            raise TemporaryError("Azure IMDS did not name this VM; cannot match its events")
        document = await self._get_json(EVENTS_PATH, EVENTS_API_VERSION)
        found = []
        for event in document.get("Events") or []:
            if event.get("EventType") != PREEMPT or name not in (event.get("Resources") or []):
                continue
            found.append(
                Observation(
                    kind=NoticeKind.TERMINATION,
                    key=f"event/{event.get('EventId')}",
                    deadline=_not_before(str(event.get("NotBefore") or "")),
                    action=PREEMPT,
                    instance_id=name[:128],
                    zone=str(compute.get("zone") or "")[:64] or None,
                )
            )
        return found

    async def _instance(self) -> dict[str, Any]:
        """The VM's compute metadata (name, zone), read once."""
        if self._compute is None:
            self._compute = await self._get_json(COMPUTE_PATH, COMPUTE_API_VERSION)
        return self._compute

    async def _get_json(self, path: str, api_version: str) -> dict[str, Any]:
        """A JSON object from the metadata service."""
        try:
            response = await self._http.get(
                f"{self._base}{path}", params={"api-version": api_version}, headers=HEADERS
            )
            response.raise_for_status()
            document = json.loads(response.text)
        except httpx2.HTTPError as e:
            raise TemporaryError(f"Azure IMDS {path} failed: {e}") from e
        except ValueError as e:
            raise TemporaryError(f"Azure IMDS {path} returned malformed JSON") from e
        if not isinstance(document, dict):
            raise TemporaryError(f"Azure IMDS {path} returned {type(document).__name__}")
        return document


def _not_before(text: str) -> datetime | None:
    """`NotBefore` ("Mon, 19 Sep 2016 18:29:47 GMT"), or None when empty or malformed."""
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None
