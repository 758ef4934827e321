"""Fixtures of the console integration tests."""

from tests.integration.console.fixtures import (
    console_gateway,
    seeded,
    seeded_other,
)
from tests.integration.gateway.fixtures import key_encryption_key, make_settings, provisioning

__all__ = [
    "console_gateway",
    "key_encryption_key",
    "make_settings",
    "provisioning",
    "seeded",
    "seeded_other",
]
