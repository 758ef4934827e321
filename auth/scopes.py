"""Scopes that tokens carry and the console roles that grant them."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """What a token allows (ARCHITECTURE.md §4)."""

    INGEST = "ingest"
    INSTRUCTIONS = "instructions"
    CONSOLE_READ = "console:read"
    CONSOLE_APPROVE = "console:approve"
    ADMIN = "admin"


class Role(StrEnum):
    """A console user's role."""

    VIEWER = "viewer"
    APPROVER = "approver"
    ADMIN = "admin"


ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset({Scope.CONSOLE_READ}),
    Role.APPROVER: frozenset({Scope.CONSOLE_READ, Scope.CONSOLE_APPROVE}),
    Role.ADMIN: frozenset({Scope.CONSOLE_READ, Scope.CONSOLE_APPROVE, Scope.ADMIN}),
}
"""Each role includes the ones below it."""

AGENT_SCOPES = frozenset({Scope.INGEST.value})
EXECUTOR_SCOPES = frozenset({Scope.INSTRUCTIONS.value})
KNOWN_SCOPES = frozenset(scope.value for scope in Scope)


def parse_scope(value: str) -> frozenset[str]:
    """The set of scopes in an RFC 6749 §3.3 space-separated scope string."""
    return frozenset(part for part in value.split(" ") if part)


def format_scope(scopes: frozenset[str]) -> str:
    """A space-separated scope string, sorted so that equal sets print equally."""
    return " ".join(sorted(scopes))


def role_scopes(role: str) -> frozenset[str]:
    """Scopes a console user of `role` gets; ValueError for an unknown role."""
    return frozenset(str(scope) for scope in ROLE_SCOPES[Role(role)])
