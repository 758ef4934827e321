"""Node-hours and demand chunks of several clusters written in one statement each land, value
for value, in their own cluster's rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.cost_rollups import (
    NODE_SUMS,
    ClusterCostRows,
    ContainerCostRows,
    CostRollupRepository,
    NodeCostRows,
)
from store.repositories.tenants import TenantView
from store.repositories.usage_states import (
    ContainerKey,
    DemandChunk,
    UsageStateRecord,
    UsageStateRepository,
)
from store.tables import CostNodeHourRow
from tests.integration.workers.conftest import new_cluster
from tests.unit.workers.factories import T0

_NO_CONTAINERS = ContainerCostRows(
    hours=[], namespaces=[], pods=[], containers=[], nodes=[], workloads=[], labels=[], sums={}
)
_KEYS = (ContainerKey("shop", "Deployment", "web", "app"), ContainerKey("shop", "Job", "x", "y"))


def _nodes(names: list[str], types: list[str | None], spots: list[bool]) -> NodeCostRows:
    return NodeCostRows(
        hours=[T0 + timedelta(hours=i % 2) for i in range(len(names))],
        nodes=names,
        instance_types=types,
        spots=spots,
        gpus=[float(i) for i in range(len(names))],
        sums={name: [0.5] * len(names) for name in NODE_SUMS},
    )


async def test_node_hours_keep_names_types_and_spot_flags_of_each_cluster(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Node names with quotes and non-ASCII letters, missing instance types and spot flags
    of two clusters are stored as given, each under its cluster."""
    second = await new_cluster(database, tenant, "second-nodes")
    first_rows = _nodes(
        ['n-"1"', "nœud-2", "n\\3"], [None, "g5.xlarge", "a\tb"], [True, False, True]
    )
    second_rows = _nodes(["n-1"], ["p4d"], [False])
    async with database.tenant(tenant.id) as session:
        await CostRollupRepository(session, tenant.id).add_rows(
            [
                ClusterCostRows(cluster.id, _NO_CONTAINERS, first_rows),
                ClusterCostRows(second, _NO_CONTAINERS, second_rows),
            ]
        )
        stored = (
            await session.execute(
                select(
                    CostNodeHourRow.cluster_id,
                    CostNodeHourRow.hour,
                    CostNodeHourRow.node,
                    CostNodeHourRow.instance_type,
                    CostNodeHourRow.spot,
                    CostNodeHourRow.gpus,
                )
            )
        ).all()
    expected = [
        (cluster_id, rows.hours[i], rows.nodes[i], rows.instance_types[i], rows.spots[i], float(i))
        for cluster_id, rows in ((cluster.id, first_rows), (second, second_rows))
        for i in range(len(rows.nodes))
    ]
    assert sorted(map(tuple, stored), key=repr) == sorted(expected, key=repr)


def _record(key: ContainerKey, chunks: list[DemandChunk], replaced: bool) -> UsageStateRecord:
    return UsageStateRecord(
        key,
        b"state",
        7,
        T0,
        T0,
        demand_steps=(2**40, -1),
        demand_chunks=tuple(chunks),
        demand_replaced=replaced,
    )


async def test_demand_chunks_of_several_clusters_land_in_their_own_cluster(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Chunks of three clusters written at once (the middle one without chunks, only the
    last one's demand replaced) are each stored under their own cluster and key, and a
    replaced demand's stale chunks are gone."""
    middle = await new_cluster(database, tenant, "middle-chunks")
    last = await new_cluster(database, tenant, "last-chunks")
    async with database.tenant(tenant.id) as session:
        repository = UsageStateRepository(session, tenant.id)
        await repository.put_many(
            last, [_record(_KEYS[1], [DemandChunk(0, 9, b"\x05stale")], replaced=True)]
        )
        await repository.put_clusters(
            {
                cluster.id: [
                    _record(
                        _KEYS[0], [DemandChunk(0, 1, b"\x01a"), DemandChunk(1, 3, b"\x02b")], False
                    ),
                    _record(_KEYS[1], [DemandChunk(1, 0, b"\x03c")], False),
                ],
                middle: [_record(_KEYS[0], [], False)],
                last: [_record(_KEYS[1], [DemandChunk(0, 2, b"\x04d")], replaced=True)],
            }
        )
        listed = {c: await repository.list(c) for c in (cluster.id, middle, last)}
    assert {
        c: [(r.key, r.sample_count, r.demand_steps, r.demand_chunks) for r in records]
        for c, records in listed.items()
    } == {
        cluster.id: [
            (_KEYS[0], 7, (2**40, -1), (DemandChunk(0, 1, b"\x01a"), DemandChunk(1, 3, b"\x02b"))),
            (_KEYS[1], 7, (2**40, -1), (DemandChunk(1, 0, b"\x03c"),)),
        ],
        middle: [(_KEYS[0], 7, (2**40, -1), ())],
        last: [(_KEYS[1], 7, (2**40, -1), (DemandChunk(0, 2, b"\x04d"),))],
    }
