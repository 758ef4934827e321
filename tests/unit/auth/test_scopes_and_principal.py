"""Scopes, roles and principals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from auth.errors import InvalidRequestError
from auth.principal import Principal, user_subject
from auth.provisioning import new_client_id, normalise_email
from auth.scopes import format_scope, parse_scope, role_scopes


def test_scope_string_round_trips_sorted() -> None:
    """Parsing ignores repeated spaces; formatting sorts."""
    assert parse_scope("ingest  admin ") == frozenset({"ingest", "admin"})
    assert format_scope(frozenset({"ingest", "admin"})) == "admin ingest"


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        ("viewer", {"console:read"}),
        ("approver", {"console:read", "console:approve"}),
        ("admin", {"console:read", "console:approve", "admin"}),
    ],
)
def test_each_role_includes_the_ones_below(role: str, scopes: set[str]) -> None:
    """Viewer < approver < admin."""
    assert role_scopes(role) == scopes


def test_unknown_role_is_refused() -> None:
    """Only the three roles exist."""
    with pytest.raises(ValueError, match="owner"):
        role_scopes("owner")


def _principal(subject: str) -> Principal:
    return Principal(
        subject=subject,
        client_id="c",
        tenant_id=uuid.uuid4(),
        cluster_id=None,
        scopes=frozenset({"console:read"}),
        token_id="j",
        expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_user_principal_knows_its_user_id() -> None:
    """A console token's subject carries the user id; a client's does not."""
    user = uuid.uuid4()
    assert _principal(user_subject(user)).user_id == user
    assert _principal("agent-123").user_id is None


def test_scope_check_needs_every_scope() -> None:
    """has_scopes is a subset test."""
    principal = _principal("agent")
    assert principal.has_scopes(frozenset({"console:read"}))
    assert not principal.has_scopes(frozenset({"console:read", "admin"}))


def test_emails_are_normalised_or_refused() -> None:
    """Trimmed and lower-cased; a string without one @ is refused."""
    assert normalise_email(" Ann@Example.COM ") == "ann@example.com"
    with pytest.raises(InvalidRequestError):
        normalise_email("ann.example.com")


def test_client_ids_have_a_prefix_and_24_hex_digits() -> None:
    """Readable kind, unguessable rest."""
    client_id = new_client_id("agent")
    prefix, rest = client_id.split("-", 1)
    assert prefix == "agent"
    assert len(rest) == 24
    int(rest, 16)
