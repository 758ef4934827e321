"""Browser security of the console: CSRF tokens, response headers, the sign-in cookie.

State-changing forms carry a CSRF token derived from the session: an HMAC of a fixed label keyed
with the session token itself. The token sits in an HttpOnly cookie a cross-site page can neither
read nor guess, so it cannot compute the form value; every replica can check it without a
shared secret or a server-side store. The sign-in form, before there is a session, uses a
random double-submit cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from fastapi.responses import Response

CSRF_FIELD = "csrf_token"
"""Form field carrying the CSRF token."""
CSRF_HEADER = "X-CSRF-Token"
"""Header carrying the CSRF token on API calls authenticated by the session cookie."""
SIGNIN_CSRF_COOKIE = "slicewise_signin_csrf"
_LABEL = b"slicewise-console-csrf-v1"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
"""No inline script or style, nothing from another origin, no framing."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Headers on every console page."""


def csrf_token(session_token: str) -> str:
    """The CSRF token forms of this session must carry."""
    digest = hmac.new(session_token.encode(), _LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_matches(session_token: str, presented: str | None) -> bool:
    """Whether `presented` is this session's CSRF token (constant-time)."""
    if not presented:
        return False
    return hmac.compare_digest(csrf_token(session_token), presented)


def new_signin_csrf() -> str:
    """A random value for the sign-in form's double-submit cookie."""
    return secrets.token_urlsafe(32)


def signin_csrf_matches(cookie: str | None, presented: str | None) -> bool:
    """Whether the sign-in form echoes its cookie (constant-time)."""
    if not cookie or not presented:
        return False
    return hmac.compare_digest(cookie, presented)


def secure_headers(response: Response) -> Response:
    """Add the console's security headers to `response`."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response
