"""Hourly cost rollups: add each snapshot's share, read breakdowns, spend series and GPU use.

Writes add to the hour's running totals (a snapshot covers part of an hour; its neighbours cover
the rest); they run in the ingest transaction that records the snapshot id, so a redelivered
snapshot adds nothing. Reads sum over a time range and group by one dimension.
"""

from __future__ import annotations

import json
import operator
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Select, String, cast, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.column_arrays import (
    float_rows,
    json_objects,
    json_texts,
    runs,
    unnested_float_row,
    unnested_jsonb,
    unnested_runs,
    unnested_texts,
)
from store.tables import CostAllocationRow, CostNodeHourRow

GROUP_BYS = ("namespace", "workload", "node", "pod", "container", "cluster")
"""Dimensions a breakdown groups by, besides `label:<key>`."""
UNLABELLED = "(none)"
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")
_Item = TypeVar("_Item")


class ContainerUse(Protocol):
    """Which container a cost line is about."""

    @property
    def node(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def pod(self) -> str: ...
    @property
    def container(self) -> str: ...
    @property
    def workload(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


class ContainerCostLine(Protocol):
    """What one container cost in part of an hour (`recommender.cost.allocation.ContainerCost`).

    Besides `usage`, it has a float for each name in `ALLOCATION_SUMS`.
    """

    @property
    def usage(self) -> ContainerUse: ...


class NodeUse(Protocol):
    """Which node a cost line is about."""

    @property
    def node(self) -> str: ...
    @property
    def instance_type(self) -> str | None: ...
    @property
    def spot(self) -> bool: ...
    @property
    def gpus(self) -> float: ...


class NodeCostLine(Protocol):
    """What one node cost in part of an hour (`recommender.cost.allocation.NodeCost`).

    Besides `node`, it has a float for each name in `NODE_SUMS`.
    """

    @property
    def node(self) -> NodeUse: ...


class HourLines(Protocol):
    """Every container's and node's cost line of one stretch."""

    @property
    def containers(self) -> Sequence[ContainerCostLine]: ...
    @property
    def nodes(self) -> Sequence[NodeCostLine]: ...


class HourCosts(Protocol):
    """The cost lines of one clock hour (`recommender.cost.snapshot_hours.HourAllocation`)."""

    @property
    def hour(self) -> datetime: ...
    @property
    def allocation(self) -> HourLines: ...


@dataclass(frozen=True, slots=True)
class CostFilter:
    """Which rollups a read covers: a time range; optionally a cluster, namespace, label, node."""

    start: datetime
    end: datetime
    cluster_id: uuid.UUID | None = None
    namespace: str | None = None
    label: tuple[str, str] | None = None
    """`(key, value)`: only pods carrying that label."""
    node: str | None = None


@dataclass(frozen=True, slots=True)
class CostGroup:
    """The cost of one group over the range."""

    key: str
    cpu_usd: float
    memory_usd: float
    gpu_usd: float
    gpu_usage_usd: float
    gpu_hours: float

    @property
    def total_usd(self) -> float:
        """CPU + memory + request-based GPU."""
        return self.cpu_usd + self.memory_usd + self.gpu_usd


@dataclass(frozen=True, slots=True)
class SpendPoint:
    """Spend in one clock hour."""

    hour: datetime
    total_usd: float
    idle_usd: float
    hourly_run_rate_usd: float
    """What the hour would have cost had it been covered end to end."""


@dataclass(frozen=True, slots=True)
class ClusterHourRate:
    """One cluster's node cost per hour in one clock hour (run rate)."""

    cluster_id: uuid.UUID
    hour: datetime
    hourly_usd: float


@dataclass(frozen=True, slots=True)
class NodeGpuUse:
    """A node over the range: cost, idle, GPUs held by pods and GPU duty cycle."""

    cluster_id: uuid.UUID
    node: str
    instance_type: str | None
    spot: bool
    gpus: float
    total_usd: float
    idle_usd: float
    gpu_allocated: float
    """Physical GPUs held by containers, averaged over the time the node was seen."""
    gpu_duty: float | None
    """Mean duty cycle of its GPUs where DCGM reported it."""


ALLOCATION_SUMS = (
    "seconds",
    "cpu_usd",
    "memory_usd",
    "gpu_usd",
    "gpu_usage_usd",
    "gpu_seconds",
    "gpu_duty_seconds",
    "duty_sampled_seconds",
)
NODE_SUMS = (
    "seconds",
    "total_usd",
    "cpu_idle_usd",
    "memory_idle_usd",
    "gpu_idle_usd",
    "gpu_allocated_seconds",
    "gpu_duty_seconds",
    "duty_sampled_seconds",
)


def _columns(names: Sequence[str], lines: Sequence[object]) -> dict[str, list[float]]:
    """One array per summed column, read from the cost lines' attributes of the same names."""
    return {name: [float(getattr(line, name)) for line in lines] for name in names}


Figures = Sequence[float] | NDArray[np.float64]
"""One figure per row."""


@dataclass(frozen=True)
class ContainerCostRows:
    """Container-hours to add to, as columns (one entry per row)."""

    hours: Sequence[datetime]
    namespaces: Sequence[str]
    pods: Sequence[str]
    containers: Sequence[str]
    nodes: Sequence[str]
    workloads: Sequence[str]
    labels: Sequence[Mapping[str, str]]
    sums: Mapping[str, Figures]
    """One column per name of `ALLOCATION_SUMS`."""


@dataclass(frozen=True)
class NodeCostRows:
    """Node-hours to add to, as columns (one entry per row)."""

    hours: Sequence[datetime]
    nodes: Sequence[str]
    instance_types: Sequence[str | None]
    spots: Sequence[bool]
    gpus: Sequence[float]
    sums: Mapping[str, Figures]
    """One column per name of `NODE_SUMS`."""


@dataclass(frozen=True)
class ClusterCostRows:
    """One cluster's container- and node-hours to add to."""

    cluster_id: uuid.UUID
    containers: ContainerCostRows
    nodes: NodeCostRows


class LabelsJson:
    """Pods' labels as the JSON text the rollups store, each labels object encoded once while
    it is held: a pod's containers and hours share one, and so do its minutes while the worker
    keeps the cluster's priced inventory."""

    def __init__(self, limit: int = 50_000) -> None:
        """Hold the text of at most `limit` labels objects (all are let go once it is reached)."""
        self._limit = limit
        # Each object is held beside its text, so its id cannot name another while it is held.
        self._objects: dict[int, Mapping[str, str]] = {}
        self._texts: dict[int, str] = {}

    def encoded(self, labels: Sequence[Mapping[str, str]]) -> list[str]:
        """Each row's labels as JSON text."""
        ids = list(map(id, labels))
        if not all(map(operator.is_, map(self._objects.get, ids), labels)):
            self._hold(ids, labels)
        return list(map(self._texts.__getitem__, ids))

    def _hold(self, ids: Sequence[int], labels: Sequence[Mapping[str, str]]) -> None:
        """Encode the objects not held (letting all go first if they would pass the limit)."""
        missing = {
            key: mapping
            for key, mapping in zip(ids, labels, strict=True)
            if self._objects.get(key) is not mapping
        }
        if len(self._objects) + len(missing) > self._limit:
            self._objects.clear()
            self._texts.clear()
            missing = dict(zip(ids, labels, strict=True))
        for key, mapping in missing.items():
            self._objects[key] = mapping
            self._texts[key] = json.dumps(dict(mapping))


def _float_rows(sums: Sequence[Mapping[str, Figures]], names: Sequence[str]) -> list[list[float]]:
    """Each summed column of every part, one after the other, as a row of one parameter."""
    return float_rows(
        [
            np.concatenate([np.asarray(part[name], dtype=np.float64) for part in sums])
            for name in names
        ]
    )


def _sums(columns: Sequence[str]) -> str:
    return ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in columns)


def _arrays(columns: Sequence[str]) -> str:
    """The `sums` parameter's rows, one per name in `columns`."""
    return ", ".join(unnested_float_row("sums", row) for row in range(1, len(columns) + 1))


def _keys(
    clusters: Sequence[ClusterCostRows], hours: Callable[[ClusterCostRows], Sequence[datetime]]
) -> dict[str, list[Any]]:
    """Each row's cluster and hour, as runs (`column_arrays.runs`)."""
    chained = [hour for c in clusters for hour in hours(c)]
    run_hours, hour_runs = runs(chained)
    return {
        "clusters": [c.cluster_id for c in clusters if hours(c)],
        "clusters_runs": [len(hours(c)) for c in clusters if hours(c)],
        "hours": run_hours,
        "hours_runs": hour_runs,
    }


# Rows travel as one text per column (`column_arrays`).
_ADD_CONTAINERS = text(
    f"""
    INSERT INTO cost_allocations AS t (tenant_id, cluster_id, hour, namespace, pod, container,
                                       node, workload, labels, {", ".join(ALLOCATION_SUMS)})
    SELECT :tenant, r.cluster, r.hour, r.namespace, r.pod, r.container, r.node, r.workload,
           r.labels, {", ".join(f"r.{name}" for name in ALLOCATION_SUMS)}
    FROM unnest({unnested_runs("clusters", "uuid")}, {unnested_runs("hours", "timestamptz")},
                {unnested_texts("namespaces")}, {unnested_texts("pods")},
                {unnested_texts("containers")}, {unnested_texts("nodes")},
                {unnested_texts("workloads")}, {unnested_jsonb("labels")},
                {_arrays(ALLOCATION_SUMS)})
         AS r(cluster, hour, namespace, pod, container, node, workload, labels,
              {", ".join(ALLOCATION_SUMS)})
    ON CONFLICT (tenant_id, cluster_id, hour, namespace, pod, container, node) DO UPDATE
    SET {_sums(ALLOCATION_SUMS)}, workload = EXCLUDED.workload, labels = EXCLUDED.labels
    """  # noqa: S608 - column-name constants only
)
_ADD_NODES = text(
    f"""
    INSERT INTO cost_node_hours AS t (tenant_id, cluster_id, hour, node, instance_type, spot, gpus,
                                      {", ".join(NODE_SUMS)})
    SELECT :tenant, r.cluster, r.hour, r.node, r.instance_type, r.spot, r.gpus,
           {", ".join(f"r.{name}" for name in NODE_SUMS)}
    FROM unnest({unnested_runs("clusters", "uuid")}, {unnested_runs("hours", "timestamptz")},
                CAST(:nodes AS text[]),
                CAST(:instance_types AS text[]), CAST(:spots AS boolean[]),
                {_arrays(("gpus", *NODE_SUMS))})
         AS r(cluster, hour, node, instance_type, spot, gpus, {", ".join(NODE_SUMS)})
    ON CONFLICT (tenant_id, cluster_id, hour, node) DO UPDATE
    SET {_sums(NODE_SUMS)}, instance_type = EXCLUDED.instance_type, spot = EXCLUDED.spot,
        gpus = EXCLUDED.gpus
    """  # noqa: S608 - column-name constants only
)

# Each table's hours before a cluster's horizon, for every cluster named, in one statement.
_PRUNE = tuple(
    text(
        f"""
        DELETE FROM {table} AS t
        USING unnest(CAST(:clusters AS uuid[]), CAST(:before AS timestamptz[]))
              AS p(cluster, before)
        WHERE t.cluster_id = p.cluster AND t.hour < p.before
        """  # noqa: S608 - table-name constants only
    )
    for table in ("cost_allocations", "cost_node_hours")
)


def _chained(parts: Sequence[Sequence[_Item]]) -> list[_Item]:
    """The parts' entries one after the other."""
    return [entry for part in parts for entry in part]


class CostRollupRepository:
    """Add to and read the session tenant's hourly cost rollups."""

    def __init__(
        self, session: AsyncSession, tenant_id: uuid.UUID, labels: LabelsJson | None = None
    ) -> None:
        """Work in `session` for `tenant_id`; `labels` encodes pods' labels (a fresh one if
        not given: pass one kept across transactions to encode each labels object once)."""
        self._session = session
        self._tenant_id = tenant_id
        self._labels = labels or LabelsJson()

    async def add(self, cluster_id: uuid.UUID, hours: Sequence[HourCosts]) -> None:
        """Add a snapshot's costs to the hours they fall in (one statement per table)."""
        containers = [(h.hour, c) for h in hours for c in h.allocation.containers]
        nodes = [(h.hour, n) for h in hours for n in h.allocation.nodes]
        await self.add_rows(
            [
                ClusterCostRows(
                    cluster_id,
                    ContainerCostRows(
                        hours=[hour for hour, _ in containers],
                        namespaces=[c.usage.namespace for _, c in containers],
                        pods=[c.usage.pod for _, c in containers],
                        containers=[c.usage.container for _, c in containers],
                        nodes=[c.usage.node for _, c in containers],
                        workloads=[c.usage.workload for _, c in containers],
                        labels=[c.usage.labels for _, c in containers],
                        sums=_columns(ALLOCATION_SUMS, [c for _, c in containers]),
                    ),
                    NodeCostRows(
                        hours=[hour for hour, _ in nodes],
                        nodes=[n.node.node for _, n in nodes],
                        instance_types=[n.node.instance_type for _, n in nodes],
                        spots=[n.node.spot for _, n in nodes],
                        gpus=[n.node.gpus for _, n in nodes],
                        sums=_columns(NODE_SUMS, [n for _, n in nodes]),
                    ),
                )
            ]
        )

    async def add_rows(self, clusters: Sequence[ClusterCostRows]) -> None:
        """Add to the clusters' container- and node-hours (one statement per table)."""
        containers = [c.containers for c in clusters if c.containers.hours]
        if containers:
            await self._session.execute(
                _ADD_CONTAINERS,
                {
                    "tenant": self._tenant_id,
                    "namespaces": json_texts(_chained([c.namespaces for c in containers])),
                    "pods": json_texts(_chained([c.pods for c in containers])),
                    "containers": json_texts(_chained([c.containers for c in containers])),
                    "nodes": json_texts(_chained([c.nodes for c in containers])),
                    "workloads": json_texts(_chained([c.workloads for c in containers])),
                    "labels": json_objects(
                        self._labels.encoded(_chained([c.labels for c in containers]))
                    ),
                }
                | _keys(clusters, lambda c: c.containers.hours)
                | {"sums": _float_rows([c.sums for c in containers], ALLOCATION_SUMS)},
            )
        nodes = [c.nodes for c in clusters if c.nodes.hours]
        if nodes:
            await self._session.execute(
                _ADD_NODES,
                {
                    "tenant": self._tenant_id,
                    "nodes": _chained([n.nodes for n in nodes]),
                    "instance_types": _chained([n.instance_types for n in nodes]),
                    "spots": _chained([n.spots for n in nodes]),
                }
                | _keys(clusters, lambda c: c.nodes.hours)
                | {
                    "sums": _float_rows(
                        [{"gpus": n.gpus, **n.sums} for n in nodes], ("gpus", *NODE_SUMS)
                    )
                },
            )

    async def prune(self, before: Mapping[uuid.UUID, datetime]) -> None:
        """Forget each cluster's hours before its time in `before` (the retention horizon),
        one statement per table."""
        if not before:
            return
        horizon = {"clusters": list(before), "before": list(before.values())}
        for statement in _PRUNE:
            await self._session.execute(statement, horizon)

    def _where(self, query: _Query, table: Any, where: CostFilter) -> _Query:
        query = query.where(
            table.tenant_id == self._tenant_id, table.hour >= where.start, table.hour < where.end
        )
        if where.cluster_id is not None:
            query = query.where(table.cluster_id == where.cluster_id)
        if where.node is not None:
            query = query.where(table.node == where.node)
        if table is CostAllocationRow:
            if where.namespace is not None:
                query = query.where(table.namespace == where.namespace)
            if where.label is not None:
                key, value = where.label
                query = query.where(table.labels[key].astext == value)
        return query

    async def breakdown(self, where: CostFilter, by: str) -> list[CostGroup]:
        """Cost per group over the range, most expensive first."""
        key = _group_expression(by)
        t = CostAllocationRow
        query = select(
            key.label("key"),
            func.sum(t.cpu_usd),
            func.sum(t.memory_usd),
            func.sum(t.gpu_usd),
            func.sum(t.gpu_usage_usd),
            func.sum(t.gpu_seconds),
        ).group_by(key)
        rows = await self._session.execute(self._where(query, t, where))
        groups = [
            CostGroup(str(k), cpu, memory, gpu, usage, seconds / 3600)
            for k, cpu, memory, gpu, usage, seconds in rows.all()
        ]
        return sorted(groups, key=lambda g: (-g.total_usd, g.key))

    async def idle(self, where: CostFilter) -> tuple[float, float]:
        """(node cost, idle cost) over the range for the cluster or every cluster."""
        t = CostNodeHourRow
        query = select(
            func.coalesce(func.sum(t.total_usd), 0.0),
            func.coalesce(func.sum(t.cpu_idle_usd + t.memory_idle_usd + t.gpu_idle_usd), 0.0),
        )
        total, idle = (await self._session.execute(self._where(query, t, where))).one()
        return float(total), float(idle)

    async def spend_series(self, where: CostFilter) -> list[SpendPoint]:
        """Spend per hour, oldest first: nodes (with idle), or one namespace's containers."""
        if where.namespace is not None or where.label is not None:
            a = CostAllocationRow
            total = func.sum(a.cpu_usd + a.memory_usd + a.gpu_usd)
            # Containers of one namespace run for varying parts of an hour; scale by the longest.
            query = select(a.hour, total, literal(0.0), func.max(a.seconds)).group_by(a.hour)
            rows = await self._session.execute(self._where(query, a, where).order_by(a.hour))
        else:
            n = CostNodeHourRow
            query = select(
                n.hour,
                func.sum(n.total_usd),
                func.sum(n.cpu_idle_usd + n.memory_idle_usd + n.gpu_idle_usd),
                func.max(n.seconds),
            ).group_by(n.hour)
            rows = await self._session.execute(self._where(query, n, where).order_by(n.hour))
        return [
            SpendPoint(hour, spent, idle, spent * 3600 / seconds if seconds else 0.0)
            for hour, spent, idle, seconds in rows.all()
        ]

    async def cluster_rates(self, start: datetime, end: datetime) -> list[ClusterHourRate]:
        """Each cluster's node cost per hour in every covered hour, oldest first."""
        n = CostNodeHourRow
        rate = func.sum(n.total_usd * 3600 / func.nullif(n.seconds, 0))
        query = select(n.cluster_id, n.hour, rate).group_by(n.cluster_id, n.hour).order_by(n.hour)
        rows = await self._session.execute(self._where(query, n, CostFilter(start=start, end=end)))
        return [ClusterHourRate(c, hour, float(r or 0.0)) for c, hour, r in rows.all()]

    async def node_gpu_use(self, where: CostFilter) -> list[NodeGpuUse]:
        """Per node over the range: cost, idle, GPUs held and duty cycle; GPU nodes first."""
        n = CostNodeHourRow
        seconds = func.sum(n.seconds)
        sampled = func.sum(n.duty_sampled_seconds)
        query = select(
            n.cluster_id,
            n.node,
            func.max(n.instance_type),
            func.bool_or(n.spot),
            func.max(n.gpus),
            func.sum(n.total_usd),
            func.sum(n.cpu_idle_usd + n.memory_idle_usd + n.gpu_idle_usd),
            func.sum(n.gpu_allocated_seconds) / func.nullif(seconds, 0),
            func.sum(n.gpu_duty_seconds) / func.nullif(sampled, 0),
        ).group_by(n.cluster_id, n.node)
        rows = await self._session.execute(self._where(query, n, where))
        found = [
            NodeGpuUse(c, node, it, bool(spot), gpus, total, idle, allocated or 0.0, duty)
            for c, node, it, spot, gpus, total, idle, allocated, duty in rows.all()
        ]
        return sorted(found, key=lambda u: (-u.gpus, -u.total_usd, u.node))


def _group_expression(by: str) -> ColumnElement[Any]:
    t = CostAllocationRow
    if by.startswith("label:") and len(by) > len("label:"):
        return func.coalesce(t.labels[by.removeprefix("label:")].astext, UNLABELLED)
    expressions: dict[str, ColumnElement[Any]] = {
        "namespace": t.namespace.expression,
        "workload": t.namespace + "/" + t.workload,
        "node": t.node.expression,
        "pod": t.namespace + "/" + t.pod,
        "container": t.namespace + "/" + t.pod + "/" + t.container,
        "cluster": cast(t.cluster_id, String),
    }
    if by not in expressions:
        raise ValueError(f"cannot group by {by!r}: use one of {GROUP_BYS} or label:<key>")
    return expressions[by]
