"""Paging of the console's lists: which page was asked for, and what it holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_PAGE_SIZE = 500

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    """Which page of a list to return (1-based)."""

    page: int = 1
    size: int = 50

    def __post_init__(self) -> None:
        if self.page < 1 or not 1 <= self.size <= MAX_PAGE_SIZE:
            raise ValueError(f"page must be >= 1 and size within 1..{MAX_PAGE_SIZE}")

    @property
    def offset(self) -> int:
        """Rows skipped before this page."""
        return (self.page - 1) * self.size


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and how long the whole list is."""

    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        """How many pages the whole list has (at least one, even when empty)."""
        return max(1, -(-self.total // self.size))
