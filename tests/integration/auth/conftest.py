"""Fixtures of the identity integration tests (they run against a real gateway too)."""

from tests.integration.gateway.fixtures import (
    credentials,
    foreign_credentials,
    gateway,
    key_encryption_key,
    make_settings,
    provisioning,
    sibling_credentials,
)

__all__ = [
    "credentials",
    "foreign_credentials",
    "gateway",
    "key_encryption_key",
    "make_settings",
    "provisioning",
    "sibling_credentials",
]
