"""`POST /v1/spot-notices`: check a watcher's notice strictly and hand it to the spot fallback.

The body is one `SpotNotice` as JSON, for this executor's cluster. With a shared token
configured, only requests carrying it as a bearer token are read at all. Posting the same notice
again is harmless: the intake answers `duplicate` for a notice id it has seen, and the status
code is 202 either way, so a watcher that retries after a lost answer gets the same reply.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Protocol

from pydantic import ValidationError

from executor.metrics import ExecutorMetrics
from executor.notices.http import HttpRequest, HttpResponse, problem
from protocol.spot import SpotNotice

NOTICES_PATH = "/v1/spot-notices"
HEALTH_PATH = "/healthz"
MAX_ERRORS_SHOWN = 5
MAX_DETAIL = 1000


class AcceptanceStatus(StrEnum):
    """What became of a valid notice."""

    ACCEPTED = "accepted"
    """New: the fallback now waits for the SaaS and acts if it stays silent."""
    DUPLICATE = "duplicate"
    """A notice with this id arrived before; nothing new happens."""
    IGNORED = "ignored"
    """Valid, but nothing to do (a rebalance recommendation, a deadline already past)."""


@dataclass(frozen=True)
class Acceptance:
    """The intake's answer to one notice."""

    status: AcceptanceStatus
    reason: str = ""


class NoticeIntake(Protocol):
    """Where valid notices go (the spot fallback)."""

    def accept(self, notice: SpotNotice) -> Acceptance:
        """Take a notice of this cluster; must return at once (work runs in the background)."""
        ...


def _validation_detail(error: ValidationError) -> str:
    """The first few problems of a refused body, without echoing its values."""
    problems = [
        f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}"
        for e in error.errors(include_url=False, include_input=False)[:MAX_ERRORS_SHOWN]
    ]
    return ("not a valid SpotNotice: " + "; ".join(problems))[:MAX_DETAIL]


class NoticeEndpoint:
    """Turns requests into answers; the server around it only moves bytes."""

    def __init__(
        self,
        intake: NoticeIntake,
        *,
        cluster_id: uuid.UUID,
        token: str | None = None,
        metrics: ExecutorMetrics | None = None,
    ) -> None:
        """Accept notices of `cluster_id` for `intake`; with `token`, only from its holders."""
        self.intake = intake
        self.cluster_id = cluster_id
        self._token = token.encode() if token else None
        self.metrics = metrics

    def respond(self, request: HttpRequest) -> HttpResponse:
        """The answer to one request."""
        if request.path == HEALTH_PATH and request.method in {"GET", "HEAD"}:
            return HttpResponse(HTTPStatus.OK, {"status": "ok"})
        if request.path != NOTICES_PATH:
            return problem(HTTPStatus.NOT_FOUND, f"no resource at {request.path[:200]}")
        if request.method != "POST":
            return problem(
                HTTPStatus.METHOD_NOT_ALLOWED, f"{NOTICES_PATH} accepts POST", Allow="POST"
            )
        response = self._notice(request)
        if self.metrics is not None:
            outcome = response.document.get("status") if response.status < 400 else "refused"
            self.metrics.spot_notices.labels(outcome=str(outcome)).inc()
        return response

    def _notice(self, request: HttpRequest) -> HttpResponse:
        if not self._authorized(request.headers.get("authorization", "")):
            return problem(
                HTTPStatus.UNAUTHORIZED,
                "a valid bearer token is required",
                **{"WWW-Authenticate": 'Bearer realm="slicewise-executor"'},
            )
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            return problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the notice as application/json")
        try:
            notice = SpotNotice.model_validate_json(request.body)
        except ValidationError as e:
            return problem(HTTPStatus.UNPROCESSABLE_ENTITY, _validation_detail(e))
        if notice.cluster_id != self.cluster_id:
            return problem(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                f"notice is for cluster {notice.cluster_id}; "
                f"this executor serves {self.cluster_id}",
            )
        acceptance = self.intake.accept(notice)
        document = {"notice_id": str(notice.notice_id), "status": acceptance.status.value}
        if acceptance.reason:
            document["reason"] = acceptance.reason
        return HttpResponse(HTTPStatus.ACCEPTED, document)

    def _authorized(self, header: str) -> bool:
        """True without a configured token, else when the header carries exactly that token."""
        if self._token is None:
            return True
        scheme, _, credentials = header.partition(" ")
        # Compared in constant time: the answer must not reveal how much of a guess was right.
        matches = hmac.compare_digest(credentials.strip().encode(), self._token)
        return scheme.lower() == "bearer" and matches
