"""Fixtures of the gateway integration tests."""

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
