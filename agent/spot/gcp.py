"""GCP: preemption of Spot and preemptible VMs from the metadata server.

`GET /computeMetadata/v1/instance/preempted` (header `Metadata-Flavor: Google`) answers
`FALSE` until the VM is being preempted, then `TRUE`; the VM then has about 30 seconds. With
`wait_for_change` the request hangs until the value changes (the ETag of the last answer tells
the server which value we have), so a notice is seen the moment it is set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx2

from agent.errors import TemporaryError
from agent.spot.observation import Observation
from protocol.snapshot import Provider
from protocol.spot import NoticeKind

PREEMPTED_PATH = "/computeMetadata/v1/instance/preempted"
INSTANCE_ID_PATH = "/computeMetadata/v1/instance/id"
ZONE_PATH = "/computeMetadata/v1/instance/zone"
FLAVOR = {"Metadata-Flavor": "Google"}
NOTICE_SECONDS = 30
WAIT_SECONDS = 60
"""`timeout_sec` of a hanging request; it returns unchanged after this and is sent again."""


class GcpMetadata:
    """Reads (or waits on) the `preempted` value of the GCE metadata server."""

    provider = Provider.GCP

    def __init__(
        self,
        http: httpx2.AsyncClient,
        base_url: str,
        *,
        clock: Callable[[], datetime],
        wait_for_change: bool = False,
    ) -> None:
        """Poll (or, with `wait_for_change`, hang on) the metadata server at `base_url`."""
        self._http = http
        self._base = base_url.rstrip("/")
        self._clock = clock
        self.waits = wait_for_change
        self._etag: str | None = None
        self._identity: tuple[str | None, str | None] | None = None

    async def poll(self) -> list[Observation]:
        """A termination observation once the VM is marked preempted."""
        instance_id, zone = await self._instance_identity()
        params: dict[str, str] = {}
        read_seconds: float | None = None
        if self.waits and self._etag is not None:
            params = {
                "wait_for_change": "true",
                "last_etag": self._etag,
                "timeout_sec": str(WAIT_SECONDS),
            }
            read_seconds = WAIT_SECONDS + 10.0
        response = await self._get(PREEMPTED_PATH, params, read_seconds)
        if response is None:
            return []
        self._etag = response.headers.get("ETag", self._etag)
        if response.text.strip().upper() != "TRUE":
            return []
        return [
            Observation(
                kind=NoticeKind.TERMINATION,
                key="preempted",
                deadline=self._clock() + timedelta(seconds=NOTICE_SECONDS),
                action="preempted",
                instance_id=instance_id,
                zone=zone,
            )
        ]

    async def _instance_identity(self) -> tuple[str | None, str | None]:
        """Instance id and zone (the last segment of `projects/N/zones/Z`), read once."""
        if self._identity is None:
            instance = await self._get(INSTANCE_ID_PATH, {}, None)
            zone = await self._get(ZONE_PATH, {}, None)
            self._identity = (
                instance.text.strip()[:128] if instance is not None else None,
                zone.text.strip().rsplit("/", 1)[-1][:64] if zone is not None else None,
            )
        return self._identity

    async def _get(
        self, path: str, params: dict[str, str], read_seconds: float | None
    ) -> httpx2.Response | None:
        """A metadata GET (with a longer read timeout for a hanging one); None on 404."""
        timeout = self._http.timeout if read_seconds is None else httpx2.Timeout(read_seconds)
        try:
            response = await self._http.get(
                f"{self._base}{path}", params=params, headers=FLAVOR, timeout=timeout
            )
        except httpx2.HTTPError as e:
            raise TemporaryError(f"GCE metadata {path} unreachable: {e}") from e
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise TemporaryError(f"GCE metadata {path} answered HTTP {response.status_code}")
        return response
