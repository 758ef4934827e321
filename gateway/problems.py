"""RFC 7807 `application/problem+json` errors: one exception type, one set of handlers.

Every refusal passes through here, so this is also where refusals are logged (without secrets)
and counted by reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from auth.errors import AuthError, InvalidRequestError, LoginFailedError, OAuthError
from gateway.metrics import GatewayMetrics
from store.errors import ConflictError, NotFoundError, TemporaryStoreError

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:slicewise:problem:"
MAX_INVALID_PARAMS = 20

_log = structlog.get_logger("gateway.refusals")


class InvalidParam(BaseModel):
    """One offending field of a request."""

    name: str
    reason: str


class ProblemDocument(BaseModel):
    """The body of every error response (RFC 7807)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    invalid_params: list[InvalidParam] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDocument, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": text}
    for status, text in {
        400: "Bad request",
        401: "Missing or invalid bearer token",
        403: "Token lacks the scope or is bound to another tenant or cluster",
        413: "Body too large (sent or decompressed)",
        415: "Unsupported media type or content encoding",
        422: "Invalid body; names the offending fields",
        429: "Rate limited; see Retry-After",
        503: "Temporarily unavailable; see Retry-After",
    }.items()
}
"""Error responses to document on ingest-style operations."""


class Problem(Exception):  # noqa: N818 - named as RFC 7807 names it; it is a response
    """An error response; `reason` labels the refusal in logs and metrics."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        invalid_params: Sequence[InvalidParam] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.invalid_params = list(invalid_params) if invalid_params is not None else None
        self.reason = reason or slug

    def document(self) -> dict[str, Any]:
        """The JSON body."""
        body: dict[str, Any] = {
            "type": TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        if self.invalid_params is not None:
            body["invalid_params"] = [param.model_dump() for param in self.invalid_params]
        return body


def validation_problem(error: ValidationError | RequestValidationError) -> Problem:
    """A 422 naming each offending field (dotted path; `body` when the JSON itself is bad)."""
    errors = error.errors()
    params = [
        InvalidParam(
            name=".".join(str(part) for part in item.get("loc", ())) or "body",
            reason=str(item.get("msg", "invalid")),
        )
        for item in errors[:MAX_INVALID_PARAMS]
    ]
    return Problem(
        422,
        "validation",
        "Request is not valid",
        f"{len(errors)} invalid field(s)",
        invalid_params=params,
        reason="invalid-body",
    )


def problem_response(problem: Problem) -> Response:
    """The HTTP response of a problem."""
    return JSONResponse(
        problem.document(),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def install_problem_handlers(app: FastAPI, metrics: GatewayMetrics) -> None:
    """Map every error the gateway raises (ours, the libraries', unexpected ones) to a response."""

    def refuse(request: Request, problem: Problem) -> Response:
        metrics.refusals.labels(problem.reason).inc()
        route = request.scope.get("route")
        _log.info(
            "request refused",
            status=problem.status,
            reason=problem.reason,
            method=request.method,
            route=getattr(route, "path", "unmatched"),
        )
        return problem_response(problem)

    async def on_problem(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, Problem):  # pragma: no cover - registered for Problem only
            raise exc
        return refuse(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):  # pragma: no cover
            raise exc
        return refuse(request, validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
            raise exc
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        problem = Problem(exc.status_code, slug, str(exc.detail), headers=exc.headers)
        return refuse(request, problem)

    async def on_auth(request: Request, exc: Exception) -> Response:
        return refuse(request, auth_problem(exc))

    async def on_store(request: Request, exc: Exception) -> Response:
        return refuse(request, store_problem(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        metrics.refusals.labels("internal-error").inc()
        _log.error("unhandled error", method=request.method, error=type(exc).__name__)
        problem = Problem(500, "internal", "Internal error")
        return problem_response(problem)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(AuthError, on_auth)
    for error in (ConflictError, NotFoundError, TemporaryStoreError):
        app.add_exception_handler(error, on_store)
    app.add_exception_handler(Exception, on_unexpected)


def auth_problem(exc: Exception) -> Problem:
    """The problem for an identity-layer error that reached the handler."""
    if isinstance(exc, LoginFailedError):
        return Problem(401, "login-failed", "Sign-in failed", str(exc), reason=exc.reason)
    if isinstance(exc, InvalidRequestError):
        return Problem(422, "invalid-request", "Request is not valid", str(exc))
    if isinstance(exc, OAuthError):  # pragma: no cover - the token route answers these itself
        return Problem(exc.status, exc.reason, exc.description)
    return Problem(401, "unauthorized", "Not authorized", reason=getattr(exc, "reason", None))


def store_problem(exc: Exception) -> Problem:
    """The problem for a storage error that reached the handler."""
    if isinstance(exc, ConflictError):
        return Problem(409, "conflict", "Conflicts with an existing resource", str(exc))
    if isinstance(exc, NotFoundError):
        return Problem(404, "not-found", "Not found", str(exc))
    return Problem(
        503,
        "unavailable",
        "Temporarily unavailable",
        "the database is unavailable; retry later",
        headers={"Retry-After": "5"},
        reason="database-unavailable",
    )
