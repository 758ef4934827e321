"""The token endpoint (RFC 6749 client credentials), its metadata and the published keys."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from auth.client_credentials import ClientAuthentication
from auth.errors import OAuthError, TokenRequestsThrottledError
from auth.scopes import KNOWN_SCOPES
from gateway.body import read_limited
from gateway.credential_throttles import TokenRequestThrottle
from gateway.deps import WiringDep, source_address
from gateway.metrics import GatewayMetrics
from gateway.openapi import form_body
from gateway.problems import Problem

router = APIRouter(tags=["oauth"])

_MAX_FORM_BYTES = 4096
_MAX_FIELDS = 16
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_GRANT = "client_credentials"
_log = structlog.get_logger("gateway.refusals")


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 successful response."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class TokenErrorResponse(BaseModel):
    """RFC 6749 §5.2 error response."""

    error: str
    error_description: str | None = None


_TOKEN_FORM = form_body(
    {
        "grant_type": {"type": "string", "enum": [_GRANT]},
        "scope": {"type": "string"},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
    },
    ["grant_type"],
)


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses={
        400: {"model": TokenErrorResponse, "description": "invalid_request, invalid_scope, ..."},
        401: {"model": TokenErrorResponse, "description": "invalid_client"},
    },
    openapi_extra=_TOKEN_FORM,
)
async def token(request: Request, wiring: WiringDep) -> Response:
    """Issue an access token to a client presenting its id and secret (basic or post)."""
    basic = _uses_basic(request)
    try:
        form = await _form(request)
        _check_grant_type(form.get("grant_type"))
        presented = _client_authentication(request, form)
        guard = TokenRequestThrottle(
            wiring.failures, wiring.limiter, wiring.token_budgets, source_address(request)
        )
        granted = await wiring.grant.grant(presented, form.get("scope"), guard=guard)
    except TokenRequestsThrottledError as e:
        return _error(wiring.metrics, e, basic=basic, retry_after=e.retry_after)
    except OAuthError as e:
        return _error(wiring.metrics, e, basic=basic)
    body = {
        "access_token": granted.token.access_token,
        "token_type": "Bearer",
        "expires_in": granted.token.expires_in,
        "scope": granted.token.scope,
    }
    return JSONResponse(body, headers=_NO_STORE)


@router.get("/.well-known/jwks.json")
async def jwks(wiring: WiringDep) -> Response:
    """The public keys that verify access tokens, including recently rotated-out ones."""
    return JSONResponse(
        wiring.keys.jwks(),
        headers={"Cache-Control": "public, max-age=60"},
        media_type="application/jwk-set+json",
    )


@router.get("/.well-known/oauth-authorization-server")
async def metadata(wiring: WiringDep) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    issuer = wiring.settings.issuer.rstrip("/")
    return {
        "issuer": wiring.settings.issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": [_GRANT],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(KNOWN_SCOPES),
        "response_types_supported": ["token"],
    }


async def _form(request: Request) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "body must be application/x-www-form-urlencoded")
    try:
        raw = await read_limited(request, _MAX_FORM_BYTES)
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(raw),
            max_num_fields=_MAX_FIELDS,
        )
    except (Problem, UnicodeDecodeError, ValueError) as e:
        raise OAuthError("invalid_request", "malformed form body") from e
    form: dict[str, str] = {}
    for name, value in pairs:
        # RFC 6749 §3.2: parameters MUST NOT be included more than once.
        if name in form:
            raise OAuthError("invalid_request", f"parameter {name} repeated")
        form[name] = value
    return form


def _check_grant_type(grant_type: str | None) -> None:
    if grant_type is None:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != _GRANT:
        raise OAuthError("unsupported_grant_type", "only client_credentials is supported")


def _uses_basic(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("basic ")


def _client_authentication(request: Request, form: dict[str, str]) -> ClientAuthentication:
    header = request.headers.get("authorization")
    posted = "client_id" in form or "client_secret" in form
    if header is not None and _uses_basic(request):
        if posted:
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            raise OAuthError("invalid_request", "more than one client authentication method")
        client_id, secret = _basic_credentials(header)
        return ClientAuthentication(client_id, secret, "client_secret_basic")
    if posted:
        posted_id, posted_secret = form.get("client_id"), form.get("client_secret")
        if not posted_id or posted_secret is None:
            raise OAuthError("invalid_client", "client_id and client_secret required", status=401)
        return ClientAuthentication(posted_id, posted_secret, "client_secret_post")
    raise OAuthError("invalid_client", "client authentication required", status=401)


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, IndexError) as e:
        raise OAuthError("invalid_client", "malformed basic credentials", status=401) from e
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise OAuthError("invalid_client", "malformed basic credentials", status=401)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _error(
    metrics: GatewayMetrics, error: OAuthError, *, basic: bool, retry_after: int | None = None
) -> Response:
    headers = dict(_NO_STORE)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if error.status == 401:
        # RFC 6749 §5.2: a 401 names the authentication scheme the client may use.
        headers["WWW-Authenticate"] = 'Basic realm="slicewise"'
    metrics.refusals.labels(f"oauth-{error.reason}").inc()
    _log.info("token request refused", status=error.status, reason=error.error, basic=basic)
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers=headers,
    )
