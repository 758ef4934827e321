"""Console sign-in: password, OIDC authorization code, session inspection and sign-out."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from auth.errors import LoginFailedError
from auth.login import Session
from auth.oidc import OidcClient
from gateway.credential_throttles import SignInThrottledError
from gateway.deps import (
    SESSION_COOKIE,
    AnyPrincipal,
    BearerCredentials,
    WiringDep,
    presented_token,
    source_address,
)
from gateway.problems import Problem
from gateway.session_revocation import revoke_session
from gateway.wiring import Wiring

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])

_PENDING_TTL_SECONDS = 600


class PasswordLogin(BaseModel):
    """E-mail and password of a console user."""

    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class SessionToken(BaseModel):
    """The console token (also set as an HttpOnly cookie)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class WhoAmI(BaseModel):
    """The caller as the gateway sees them."""

    subject: str
    client_id: str
    tenant_id: uuid.UUID
    cluster_id: uuid.UUID | None
    user_id: uuid.UUID | None
    scopes: list[str]


@router.post("/login", response_model=SessionToken)
async def login(body: PasswordLogin, request: Request, wiring: WiringDep) -> Response:
    """Sign in with e-mail and password (failures are throttled per address and account)."""
    try:
        session = await wiring.sign_in.sign_in(
            wiring.login, body.email, body.password, source_address(request)
        )
    except SignInThrottledError as e:
        raise Problem(
            429,
            "rate-limited",
            "Too many sign-in attempts",
            headers={"Retry-After": str(e.retry_after)},
            reason="rate-limited-login",
        ) from e
    return _session_response(wiring, session, JSONResponse(_token_body(session)))


@router.get("/oidc/login", status_code=302, response_class=RedirectResponse)
async def oidc_login(wiring: WiringDep) -> Response:
    """Redirect the browser to the identity provider."""
    oidc = _oidc(wiring)
    pending = await oidc.start()
    record = json.dumps({"nonce": pending.nonce, "verifier": pending.code_verifier})
    await wiring.redis.set(_pending_key(wiring, pending.state), record, ex=_PENDING_TTL_SECONDS)
    return RedirectResponse(pending.authorization_url, status_code=302)


@router.get("/oidc/callback", status_code=303, response_class=RedirectResponse)
async def oidc_callback(
    wiring: WiringDep,
    state: Annotated[str, Query(max_length=256)],
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Finish the provider's sign-in: exchange the code, find the user, set the session."""
    oidc = _oidc(wiring)
    # One use per state: a replayed callback finds nothing.
    record = await wiring.redis.getdel(_pending_key(wiring, state))
    if record is None:
        raise LoginFailedError("unknown-state", "sign-in expired or already used")
    if error is not None or code is None:
        raise LoginFailedError("provider-denied", "the provider did not sign the user in")
    pending = json.loads(record)
    identity = await oidc.finish(code, nonce=pending["nonce"], code_verifier=pending["verifier"])
    session = await wiring.login.with_identity(identity)
    redirect = RedirectResponse(wiring.settings.console_url, status_code=303)
    return _session_response(wiring, session, redirect)


@router.get("/session", response_model=WhoAmI)
async def whoami(principal: AnyPrincipal) -> WhoAmI:
    """Who the presented token (header or session cookie) belongs to."""
    return WhoAmI(
        subject=principal.subject,
        client_id=principal.client_id,
        tenant_id=principal.tenant_id,
        cluster_id=principal.cluster_id,
        user_id=principal.user_id,
        scopes=sorted(principal.scopes),
    )


@router.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request, wiring: WiringDep, credentials: BearerCredentials) -> Response:
    """Revoke the presented token (header or cookie) and forget the session cookie."""
    token, _ = presented_token(request, credentials)
    await revoke_session(wiring, token)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, secure=wiring.settings.session_cookie_secure, samesite="lax"
    )
    return response


def _oidc(wiring: Wiring) -> OidcClient:
    if wiring.oidc is None:
        raise Problem(404, "not-found", "No identity provider is configured", reason="no-oidc")
    return wiring.oidc


def _pending_key(wiring: Wiring, state: str) -> str:
    return f"{wiring.settings.redis_key_prefix}oidc:{state}"


def _token_body(session: Session) -> dict[str, object]:
    return {
        "access_token": session.token.access_token,
        "token_type": "Bearer",
        "expires_in": session.token.expires_in,
        "scope": session.token.scope,
    }


def _session_response(wiring: Wiring, session: Session, response: Response) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        session.token.access_token,
        max_age=session.token.expires_in,
        httponly=True,
        secure=wiring.settings.session_cookie_secure,
        # Lax: sent on the top-level navigation back from the provider, not on cross-site POSTs.
        samesite="lax",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
