"""Versioned wire contracts shared by every Slicewise process.

Everything that crosses a process boundary (HTTP bodies, Kafka messages, signed instructions) is one
of the pydantic models in this package. Models are strict: unknown fields are refused and every
collection and string is bounded, so a hostile sender cannot make a receiver allocate without limit.
"""

SCHEMA_VERSION = "1"
"""Major version of the wire contracts; bumped only for breaking changes."""

__all__ = ["SCHEMA_VERSION"]
