"""Errors of the identity layer, each carrying a short machine-readable reason."""

from __future__ import annotations


class AuthError(Exception):
    """Base class of identity errors."""

    reason: str = "auth-error"


class InvalidTokenError(AuthError):
    """A bearer token is missing, malformed, expired, for another audience or not ours."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason


class InsufficientScopeError(AuthError):
    """A valid token lacks a scope the operation requires."""

    reason = "insufficient-scope"

    def __init__(self, required: frozenset[str]) -> None:
        super().__init__(f"requires scope {' '.join(sorted(required))}")
        self.required = required


class OAuthError(AuthError):
    """An RFC 6749 §5.2 error of the token endpoint."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.reason = error.replace("_", "-")


class TokenRequestsThrottledError(OAuthError):
    """Too many failed or unknown-client token requests from one source: 429 with Retry-After."""

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__("temporarily_unavailable", description, status=429)
        self.retry_after = retry_after


class LoginFailedError(AuthError):
    """A console sign-in was refused (wrong password, unknown user, bad provider answer)."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason


class SealError(AuthError):
    """A sealed secret could not be opened (wrong key-encryption key or tampered data)."""

    reason = "unseal-failed"


class InvalidRequestError(AuthError):
    """An administrative request names something invalid (a role, an e-mail address)."""

    reason = "invalid-request"
