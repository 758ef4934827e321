"""Parsing client credentials from the Authorization header (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64

import pytest

from auth.errors import OAuthError
from gateway.routes.oauth import _basic_credentials


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_form_urlencoded_parts_are_decoded() -> None:
    """Client id and secret are form-urlencoded before being joined by a colon."""
    assert _basic_credentials(_basic("agent%3A1", "a+b%2Fc")) == ("agent:1", "a b/c")


def test_secret_may_contain_colons() -> None:
    """Only the first colon separates id from secret."""
    assert _basic_credentials(_basic("id", "x:y")) == ("id", "x:y")


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()])
def test_malformed_basic_credentials_are_invalid_client(header: str) -> None:
    """Undecodable or colon-less credentials are an invalid_client error."""
    with pytest.raises(OAuthError) as refused:
        _basic_credentials(header)
    assert (refused.value.error, refused.value.status) == ("invalid_client", 401)
