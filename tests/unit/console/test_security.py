"""CSRF tokens and the console's security headers."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from gateway.console.security import (
    csrf_matches,
    csrf_token,
    new_signin_csrf,
    secure_headers,
    signin_csrf_matches,
)


def test_csrf_token_is_stable_per_session() -> None:
    """The same session token always yields the same form token."""
    assert csrf_token("session-a") == csrf_token("session-a")


def test_csrf_token_differs_between_sessions() -> None:
    """Another session's form token does not match."""
    assert not csrf_matches("session-b", csrf_token("session-a"))


def test_csrf_token_matches_its_session() -> None:
    """The form token of a session is accepted for it."""
    assert csrf_matches("session-a", csrf_token("session-a"))


def test_missing_csrf_token_is_refused() -> None:
    """No token, no state change."""
    assert not csrf_matches("session-a", None)
    assert not csrf_matches("session-a", "")


def test_csrf_token_does_not_reveal_the_session() -> None:
    """The form token is an HMAC, not the session token itself."""
    token = "eyJhbGciOiJFUzI1NiJ9.payload.signature"
    assert token not in csrf_token(token)
    assert len(csrf_token(token)) == 43


def test_signin_double_submit() -> None:
    """The sign-in form must echo its cookie exactly."""
    value = new_signin_csrf()
    assert signin_csrf_matches(value, value)
    assert not signin_csrf_matches(value, new_signin_csrf())
    assert not signin_csrf_matches(None, value)


def test_pages_forbid_inline_script_and_framing() -> None:
    """The content security policy allows only our own origin and no frames."""
    response = secure_headers(HTMLResponse("x"))
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
