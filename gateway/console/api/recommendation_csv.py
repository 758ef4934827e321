"""The recommendation list as CSV, with the same filters and order as the JSON list."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.console.api.auth import Reader
from gateway.console.listing import StatusFilter
from gateway.deps import WiringDep
from protocol.recommendation import RecommendationKind
from store.repositories.console_paging import MAX_PAGE_SIZE, PageRequest
from store.repositories.console_queries import (
    ConsoleQueries,
    RecommendationFilter,
    RecommendationSort,
    RecommendationSummary,
)

router = APIRouter(prefix="/v1/console", tags=["console"])

MAX_ROWS = 20_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "id",
    "cluster",
    "kind",
    "title",
    "target",
    "monthly_saving_usd",
    "risk",
    "status",
    "created_at",
    "decided_by",
    "confidence",
    "expected_monthly_saving_usd",
    "saving_basis",
    "group_id",
)


def _cell(text: str) -> str:
    # Titles and targets carry cluster object names: never let a spreadsheet run one.
    return "'" + text if text.startswith(_FORMULA_START) else text


def recommendations_csv(items: list[RecommendationSummary]) -> str:
    """One row per recommendation, in the order given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in items:
        writer.writerow(
            [
                str(r.id),
                _cell(r.cluster_name),
                r.kind,
                _cell(r.title),
                _cell(r.target),
                f"{r.monthly_saving_usd:.2f}",
                r.risk,
                r.status,
                r.created_at.isoformat(),
                _cell(r.decided_by or ""),
                f"{r.confidence:.3f}",
                f"{r.expected_saving_usd:.2f}",
                r.saving_basis,
                _cell(r.group_key or ""),
            ]
        )
    return buffer.getvalue()


@router.get(
    "/recommendations.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
async def recommendations_download(
    *,
    principal: Reader,
    wiring: WiringDep,
    cluster_id: uuid.UUID | None = None,
    kind: RecommendationKind | None = None,
    status: StatusFilter | None = None,
    min_saving: Annotated[float | None, Query(ge=0, le=1e9)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: RecommendationSort = RecommendationSort.EXPECTED_DESC,
) -> Response:
    """Every recommendation matching the filters (up to 20,000) as a CSV download."""
    criteria = RecommendationFilter(
        cluster_id=cluster_id,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        min_saving_usd=min_saving,
        search=q or None,
        sort=sort,
    )
    rows: list[RecommendationSummary] = []
    async with wiring.database.tenant(principal.tenant_id) as session:
        queries = ConsoleQueries(session, principal.tenant_id)
        page = 1
        while len(rows) < MAX_ROWS:
            found = await queries.recommendations(
                criteria, PageRequest(page, MAX_PAGE_SIZE), now=wiring.clock()
            )
            rows += found.items
            if page >= found.pages:
                break
            page += 1
    return Response(
        recommendations_csv(rows[:MAX_ROWS]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="slicewise-recommendations.csv"'},
    )
