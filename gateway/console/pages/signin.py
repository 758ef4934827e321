"""Sign-in and sign-out pages; the session is the gateway's console token in an HttpOnly cookie."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from auth.errors import LoginFailedError
from gateway.console.context import ConsoleDep
from gateway.console.pages.render import render
from gateway.console.pages.session import SIGNIN_PATH, PageUser
from gateway.console.security import (
    CSRF_FIELD,
    SIGNIN_CSRF_COOKIE,
    new_signin_csrf,
    secure_headers,
    signin_csrf_matches,
)
from gateway.credential_throttles import SignInThrottledError
from gateway.deps import SESSION_COOKIE, WiringDep, source_address
from gateway.wiring import Wiring

router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/console"


def safe_next(value: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    # Browsers read a backslash as a slash and drop control characters, so either could
    # turn a local-looking path into another host.
    if not value or any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    if parts.path != HOME and not parts.path.startswith(f"{HOME}/"):
        return HOME
    return value


def _form(
    console: ConsoleDep,
    request: Request,
    wiring: Wiring,
    *,
    next_path: str,
    error: str | None = None,
    email: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = new_signin_csrf()
    response = render(
        console,
        request,
        "signin.html",
        None,
        status_code=status_code,
        next_path=next_path,
        error=error,
        email=email,
        signin_csrf=token,
        oidc=wiring.oidc is not None,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=wiring.settings.session_cookie_secure,
        samesite="lax",
        path=SIGNIN_PATH,
    )
    return response


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(
    request: Request,
    console: ConsoleDep,
    wiring: WiringDep,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> HTMLResponse:
    """The sign-in form."""
    return _form(console, request, wiring, next_path=safe_next(next_path))


@router.post("/signin", response_class=HTMLResponse)
async def signin(
    *,
    request: Request,
    console: ConsoleDep,
    wiring: WiringDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = HOME,
) -> Response:
    """Check the password, set the session cookie and go where the user was heading."""
    target = safe_next(next_path)
    if not signin_csrf_matches(request.cookies.get(SIGNIN_CSRF_COOKIE), csrf_token):
        return _form(
            console,
            request,
            wiring,
            next_path=target,
            email=email,
            error="The form expired. Please sign in again.",
            status_code=400,
        )
    try:
        session = await wiring.sign_in.sign_in(
            wiring.login, email, password, source_address(request)
        )
    except SignInThrottledError as e:
        return _form(
            console,
            request,
            wiring,
            next_path=target,
            email=email,
            error=f"Too many attempts. Try again in {e.retry_after} seconds.",
            status_code=429,
        )
    except LoginFailedError:
        return _form(
            console,
            request,
            wiring,
            next_path=target,
            email=email,
            error="Wrong e-mail address or password.",
            status_code=401,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.token.access_token,
        max_age=session.token.expires_in,
        httponly=True,
        secure=wiring.settings.session_cookie_secure,
        samesite="lax",
        path="/",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path=SIGNIN_PATH)
    return secure_headers(response)


@router.post("/signout")
async def signout(
    session: PageUser,
    wiring: WiringDep,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Revoke the session's token, forget the cookie and return to the sign-in page."""
    session.check_csrf(csrf_token)
    await wiring.revoked.revoke(session.principal)
    response = RedirectResponse(SIGNIN_PATH, status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        secure=wiring.settings.session_cookie_secure,
        samesite="lax",
    )
    return secure_headers(response)
