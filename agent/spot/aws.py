"""AWS: spot interruption and rebalance recommendation from IMDSv2.

IMDSv2 wants a session token first (`PUT /latest/api/token` with
`X-aws-ec2-metadata-token-ttl-seconds`), sent back as `X-aws-ec2-metadata-token` on every GET.
`spot/instance-action` answers 404 until the two-minute warning, then
`{"action": "terminate", "time": "..."}`; `events/recommendations/rebalance` answers 404 until
the instance is at elevated risk, then `{"noticeTime": "..."}`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import httpx2

from agent.errors import TemporaryError
from agent.spot.observation import Observation
from protocol.snapshot import Provider
from protocol.spot import NoticeKind

# Endpoint and header names of IMDSv2 sessions, not secrets.
TOKEN_PATH = "/latest/api/token"  # noqa: S105
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105
INSTANCE_ACTION_PATH = "/latest/meta-data/spot/instance-action"
REBALANCE_PATH = "/latest/meta-data/events/recommendations/rebalance"
INSTANCE_ID_PATH = "/latest/meta-data/instance-id"
ZONE_PATH = "/latest/meta-data/placement/availability-zone"
TOKEN_TTL_SECONDS = 21_600
TOKEN_MARGIN_SECONDS = 60


class AwsImds:
    """Polls IMDSv2 for spot instance actions and rebalance recommendations."""

    provider = Provider.AWS
    waits = False

    def __init__(self, http: httpx2.AsyncClient, base_url: str) -> None:
        """Poll the IMDS at `base_url` (169.254.169.254 on EC2) through `http`."""
        self._http = http
        self._base = base_url.rstrip("/")
        self._token: str | None = None
        self._token_expires = 0.0
        self._identity: tuple[str | None, str | None] | None = None

    async def poll(self) -> list[Observation]:
        """The instance action and rebalance recommendation currently announced, if any."""
        instance_id, zone = await self._instance_identity()
        found = []
        action = await self._get_json(INSTANCE_ACTION_PATH)
        if action is not None and action.get("time"):
            found.append(
                Observation(
                    kind=NoticeKind.TERMINATION,
                    key=f"instance-action/{action.get('action')}/{action['time']}",
                    deadline=_parse_time(str(action["time"])),
                    action=str(action.get("action") or "terminate")[:32],
                    instance_id=instance_id,
                    zone=zone,
                )
            )
        rebalance = await self._get_json(REBALANCE_PATH)
        if rebalance is not None and rebalance.get("noticeTime"):
            found.append(
                Observation(
                    kind=NoticeKind.REBALANCE,
                    key=f"rebalance/{rebalance['noticeTime']}",
                    deadline=None,
                    action=None,
                    instance_id=instance_id,
                    zone=zone,
                )
            )
        return found

    async def _instance_identity(self) -> tuple[str | None, str | None]:
        """Instance id and zone, read once; unknown values stay None (notices still go out)."""
        if self._identity is None:
            instance_id = await self._get_text(INSTANCE_ID_PATH)
            zone = await self._get_text(ZONE_PATH)
            self._identity = (instance_id, zone)
        return self._identity

    async def _get_json(self, path: str) -> dict[str, Any] | None:
        """A JSON document, or None on 404 (nothing announced)."""
        text = await self._get_text(path)
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError as e:
            raise TemporaryError(f"IMDS {path} returned malformed JSON") from e
        return document if isinstance(document, dict) else None

    async def _get_text(self, path: str) -> str | None:
        """GET with the session token; one retry with a new token if it was refused."""
        for attempt in range(2):
            token = await self._session_token(renew=attempt > 0)
            try:
                response = await self._http.get(
                    f"{self._base}{path}", headers={TOKEN_HEADER: token}
                )
            except httpx2.HTTPError as e:
                raise TemporaryError(f"IMDS {path} unreachable: {e}") from e
            if response.status_code == 401:
                continue
            if response.status_code == 404:
                return None
            if not response.is_success:
                raise TemporaryError(f"IMDS {path} answered HTTP {response.status_code}")
            return response.text
        raise TemporaryError(f"IMDS refused a fresh session token for {path}")

    async def _session_token(self, *, renew: bool) -> str:
        """The cached IMDSv2 session token, fetched anew when missing, near expiry or refused."""
        if self._token is not None and not renew and time.monotonic() < self._token_expires:
            return self._token
        try:
            response = await self._http.put(
                f"{self._base}{TOKEN_PATH}", headers={TTL_HEADER: str(TOKEN_TTL_SECONDS)}
            )
            response.raise_for_status()
        except httpx2.HTTPError as e:
            raise TemporaryError(f"IMDSv2 token request failed: {e}") from e
        self._token = response.text.strip()
        self._token_expires = time.monotonic() + TOKEN_TTL_SECONDS - TOKEN_MARGIN_SECONDS
        return self._token


def _parse_time(text: str) -> datetime | None:
    """An RFC 3339 time from IMDS, or None if it does not parse as a timezone-aware time."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
