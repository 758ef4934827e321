"""Cluster and node pages: agent health, nodes, a GPU map, spend over time, who runs where."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.charts import Series, time_chart
from gateway.console.context import ConsoleDep
from gateway.console.cost_report import HOURS_PER_MONTH
from gateway.console.pages.render import render
from gateway.console.pages.session import PageUser
from gateway.deps import WiringDep
from store.errors import NotFoundError
from store.repositories.clusters import ClusterRepository
from store.repositories.console_queries import HEALTHY_WITHIN
from store.repositories.cost_rollups import CostFilter, CostRollupRepository, NodeGpuUse
from store.repositories.inventory import InventoryRepository

router = APIRouter(prefix="/console/clusters", include_in_schema=False)

RECENT = timedelta(days=1)
SPEND_RANGE = timedelta(days=7)
DUTY_BANDS = (0.05, 0.25, 0.5, 0.75)
"""Upper bounds of the GPU map's colour bands (the stylesheet colours `duty-0` to `duty-4`)."""


def duty_band(duty: float | None) -> str:
    """The GPU map tile's class for a duty cycle (`duty-none` when unmeasured)."""
    if duty is None:
        return "duty-none"
    return f"duty-{sum(duty >= bound for bound in DUTY_BANDS)}"


def _node_rows(objects: list[Any], use: dict[str, NodeGpuUse]) -> list[dict[str, Any]]:
    rows = []
    for obj in objects:
        labels = obj.body.get("labels", {})
        gpu = obj.body.get("gpu") or {}
        rows.append(
            {
                "name": obj.name,
                "instance_type": labels.get("node.kubernetes.io/instance-type"),
                "spot": labels.get("node.kubernetes.io/capacity") == "spot",
                "gpus": gpu.get("count", 0),
                "product": gpu.get("product"),
                "ready": obj.body.get("ready", True),
                "use": use.get(obj.name),
            }
        )
    return rows


@router.get("/{cluster_id}", response_class=HTMLResponse)
async def cluster(
    cluster_id: uuid.UUID,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
) -> HTMLResponse:
    """The cluster's health, its nodes with a GPU map, and its spend over the last week."""
    now = wiring.clock()
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        try:
            found = await ClusterRepository(db, tenant_id).get(cluster_id)
        except NotFoundError:
            return render(
                console, request, "error.html", session, status_code=404,
                title="Not found", message="No such cluster.",
            )  # fmt: skip
        inventory = InventoryRepository(db, tenant_id)
        counts = await inventory.count(cluster_id)
        nodes = await inventory.list(cluster_id, kinds=["Node"])
        rollups = CostRollupRepository(db, tenant_id)
        use = await rollups.node_gpu_use(CostFilter(now - RECENT, now, cluster_id))
        spend = await rollups.spend_series(CostFilter(now - SPEND_RANGE, now, cluster_id))
    by_node = {u.node: u for u in use}
    rows = _node_rows(nodes, by_node)
    chart = time_chart(
        [
            Series(
                "Monthly run rate (hourly)",
                "spend",
                [(p.hour, p.hourly_run_rate_usd * HOURS_PER_MONTH) for p in spend],
            )
        ],
        title="Spend over the last 7 days",
        start=now - SPEND_RANGE,
        end=now,
        empty_note="No spend measured yet",
    )
    last = found.last_snapshot_at
    return render(
        console,
        request,
        "cluster.html",
        session,
        section="overview",
        cluster=found,
        healthy=last is not None and now - last <= HEALTHY_WITHIN,
        now=now,
        counts=counts,
        nodes=rows,
        gpu_nodes=[r for r in rows if r["gpus"]],
        spend_chart=chart,
        day_cost=sum(u.total_usd for u in use),
        day_idle=sum(u.idle_usd for u in use),
        duty_band=duty_band,
    )


@router.get("/{cluster_id}/nodes/{node}", response_class=HTMLResponse)
async def node_page(
    *,
    cluster_id: uuid.UUID,
    node: str,
    request: Request,
    session: PageUser,
    console: ConsoleDep,
    wiring: WiringDep,
) -> HTMLResponse:
    """One node: its shape, the pods on it and what each workload paid there in the last day."""
    now = wiring.clock()
    tenant_id = session.principal.tenant_id
    async with wiring.database.tenant(tenant_id) as db:
        try:
            found = await ClusterRepository(db, tenant_id).get(cluster_id)
        except NotFoundError:
            found = None
        inventory = InventoryRepository(db, tenant_id)
        stored = await inventory.find(cluster_id, "Node", [("", node)]) if found else {}
        if found is None or not stored:
            return render(
                console, request, "error.html", session, status_code=404,
                title="Not found", message="No such node.",
            )  # fmt: skip
        pods = [
            p
            for p in await inventory.list(cluster_id, kinds=["Pod"])
            if p.body.get("node_name") == node
        ]
        rollups = CostRollupRepository(db, tenant_id)
        where = CostFilter(now - RECENT, now, cluster_id, node=node)
        workloads = await rollups.breakdown(where, "workload")
        use = await rollups.node_gpu_use(where)
        series = await rollups.spend_series(where)
    body = stored[("", node)].body
    chart = time_chart(
        [Series("Cost per hour", "spend", [(p.hour, p.hourly_run_rate_usd) for p in series])],
        title="Cost per hour, last day",
        start=now - RECENT,
        end=now,
        time_format="%H:%M",
        empty_note="No cost measured yet",
    )
    return render(
        console,
        request,
        "node.html",
        session,
        section="overview",
        cluster=found,
        node=body,
        pods=[p.body for p in pods],
        workloads=workloads,
        use=use[0] if use else None,
        chart=chart,
    )
