"""The agent's error hierarchy: temporary errors are retried, permanent ones stop the work."""

from __future__ import annotations


class AgentError(Exception):
    """Base class of every error the agent raises on purpose."""


class TemporaryError(AgentError):
    """Retrying later may succeed (network trouble, a server restarting, 5xx, 429)."""


class ThrottledError(TemporaryError):
    """The gateway asked us to slow down (429); `retry_after` is its hint in seconds."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class UnavailableError(TemporaryError):
    """The gateway answered with an HTTP status worth retrying (401, 408, 425, 5xx)."""

    def __init__(self, message: str, status: int) -> None:
        self.status = status
        super().__init__(message)


class PermanentError(AgentError):
    """Retrying the same thing will fail the same way."""


class MissingPermissionError(PermanentError):
    """The agent's identity lacks an RBAC permission it needs; the message names it."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = list(missing)
        if len(self.missing) == 1:
            text = f"missing permission: {self.missing[0]} — grant it in the agent's ClusterRole"
        else:
            text = (
                f"missing permissions: {', '.join(self.missing)} — "
                "grant them in the agent's ClusterRole"
            )
        super().__init__(text)


class RejectedError(PermanentError):
    """The gateway refused a payload for good (4xx other than 401/408/429)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        super().__init__(f"gateway refused the payload with HTTP {status}: {detail}")
