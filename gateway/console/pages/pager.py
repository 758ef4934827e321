"""Pagination links that keep the list's other query parameters (filters, sort)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

_AROUND = 2


@dataclass(frozen=True)
class PageLink:
    """One link of the pager; `url` is None for the current page and for gaps."""

    label: str
    url: str | None
    current: bool = False


@dataclass(frozen=True)
class Pager:
    """Where the list is, and the links to move through it."""

    page: int
    pages: int
    total: int
    previous: str | None
    next: str | None
    links: list[PageLink]


def page_url(request: Request, page: int) -> str:
    """The current URL with `page` replaced."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    params.append(("page", str(page)))
    return f"{request.url.path}?{urlencode(params)}"


def pager(request: Request, *, page: int, pages: int, total: int) -> Pager:
    """Links to the first, last and nearby pages, with gaps marked."""
    wanted = sorted({1, pages, *range(max(1, page - _AROUND), min(pages, page + _AROUND) + 1)})
    links: list[PageLink] = []
    previous_number = 0
    for number in wanted:
        if number - previous_number > 1:
            links.append(PageLink("…", None))
        current = number == page
        links.append(PageLink(str(number), None if current else page_url(request, number), current))
        previous_number = number
    return Pager(
        page=page,
        pages=pages,
        total=total,
        previous=page_url(request, page - 1) if page > 1 else None,
        next=page_url(request, page + 1) if page < pages else None,
        links=links,
    )
