"""The query parameters of a cost report, read once for the API and the cost page."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query

from gateway.console.cost_report import CostQuery, CostQueryError, SortKey, parse_label
from gateway.deps import WiringDep
from gateway.problems import Problem

DEFAULT_RANGE = timedelta(days=7)


async def cost_query(
    *,
    wiring: WiringDep,
    start: Annotated[
        datetime | None, Query(description="Range start (default: 7 days before end)")
    ] = None,
    end: Annotated[
        datetime | None, Query(description="Range end, exclusive (default: now)")
    ] = None,
    group_by: Annotated[
        str,
        Query(
            max_length=330,
            description="namespace, workload, node, pod, container, cluster or label:<key>",
        ),
    ] = "namespace",
    cluster: Annotated[uuid.UUID | None, Query()] = None,
    namespace: Annotated[str | None, Query(max_length=253)] = None,
    label: Annotated[
        str | None, Query(max_length=400, description="Only pods with key=value")
    ] = None,
    sort: SortKey = "total",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    idle: Annotated[
        str,
        Query(
            pattern="^(show|share)$",
            description="show: idle apart; share: spread over groups by what each pays",
        ),
    ] = "show",
) -> CostQuery:
    """The validated query; a 400 problem saying what is wrong otherwise."""
    until = end or wiring.clock()
    try:
        return CostQuery(
            start=start or until - DEFAULT_RANGE,
            end=until,
            group_by=group_by,
            cluster_id=cluster,
            namespace=namespace or None,
            label=parse_label(label),
            sort=sort,
            descending=order != "asc",
            share_idle=idle == "share",
        ).validate()
    except CostQueryError as e:
        raise Problem(400, "bad-cost-query", "Cannot answer this cost query", str(e)) from e


CostQueryDep = Annotated[CostQuery, Depends(cost_query)]
