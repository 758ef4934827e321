"""Storage errors, split by whether retrying can help."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of storage errors."""


class TemporaryStoreError(StoreError):
    """The database could not be reached or the transaction conflicted; retrying may succeed."""


class NotFoundError(StoreError):
    """The row does not exist (or belongs to another tenant, which looks the same)."""


class ConflictError(StoreError):
    """The write conflicts with an existing row (a duplicate name, for example)."""
