"""The executor's own errors, split by what the caller should do about them.

A `RefusalError` means the instruction must not run (bad signature, changed precondition...) and is
reported as refused. An `ActionError` means the cluster rejected or could not carry out a change:
the instruction fails and what was applied is rolled back. A `TemporaryExecutorError` is worth
retrying later (the gateway or the API server was unreachable).
"""

from __future__ import annotations


class ExecutorError(Exception):
    """Base class of executor errors."""


class TemporaryExecutorError(ExecutorError):
    """A dependency was unreachable or overloaded; retrying later may succeed."""


class RefusalError(ExecutorError):
    """The instruction (or one of its actions) must not be executed."""

    def __init__(self, reason: str, *, action_index: int | None = None) -> None:
        """`action_index` names the action that caused the refusal, when there is one."""
        super().__init__(reason)
        self.reason = reason
        self.action_index = action_index


class ActionError(ExecutorError):
    """The cluster rejected a change, or the change could not be carried out."""


class ConflictError(ActionError):
    """The object changed between the precondition check and the write (HTTP 409)."""


class ObjectMissingError(ActionError):
    """The object an action targets does not exist."""


class GatewayRejectedError(ExecutorError):
    """The gateway answered with a client error that retrying cannot fix."""

    def __init__(self, status_code: int, detail: str) -> None:
        """Keep the status so callers can tell 'unknown instruction' from 'bad request'."""
        super().__init__(f"gateway answered {status_code}: {detail}")
        self.status_code = status_code
