"""Container-hours added by `CostRollupRepository.add_rows` are stored exactly as given."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.cost_rollups import (
    ALLOCATION_SUMS,
    ClusterCostRows,
    ContainerCostRows,
    CostRollupRepository,
    LabelsJson,
    NodeCostRows,
)
from store.repositories.tenants import TenantView
from store.tables import CostAllocationRow
from tests.unit.workers.factories import T0

# Any text PostgreSQL stores (no NUL): quotes, backslashes, commas, braces, separators, unicode.
_TEXTS = st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=12)
_LABELS = st.dictionaries(_TEXTS, _TEXTS, max_size=3)
_ROW = st.tuples(_TEXTS, _TEXTS, _TEXTS, _TEXTS, _TEXTS, _LABELS)
_Row = tuple[str, str, str, str, str, dict[str, str]]
_NO_NODES = NodeCostRows(hours=[], nodes=[], instance_types=[], spots=[], gpus=[], sums={})


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(_ROW, min_size=1, max_size=8, unique_by=lambda r: r[:4]))
async def test_container_hours_keep_every_text_and_label_as_given(
    database: Database, tenant: TenantView, rows: list[_Row]
) -> None:
    """Names and labels of any text (quotes, separators, unicode, empty) come back unchanged,
    each on its own row; one labels object shared by rows is stored for each of them."""
    shared = {"team": 'a "b" \\c'}
    labels = LabelsJson()
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(
            f"rows-{uuid.uuid4().hex[:8]}", provider="aws", region="eu-west-1"
        )
        repository = CostRollupRepository(session, tenant.id, labels)
        await repository.add_rows(
            [
                ClusterCostRows(
                    cluster.id,
                    ContainerCostRows(
                        hours=[T0 + timedelta(hours=i) for i in range(len(rows))],
                        namespaces=[r[0] for r in rows],
                        pods=[r[1] for r in rows],
                        containers=[r[2] for r in rows],
                        nodes=[r[3] for r in rows],
                        workloads=[r[4] for r in rows],
                        labels=[r[5] if i % 2 else shared for i, r in enumerate(rows)],
                        sums={
                            name: [float(i) + 0.1 for i in range(len(rows))]
                            for name in ALLOCATION_SUMS
                        },
                    ),
                    _NO_NODES,
                )
            ]
        )
        stored = (
            await session.execute(
                select(CostAllocationRow)
                .where(CostAllocationRow.cluster_id == cluster.id)
                .order_by(CostAllocationRow.hour)
            )
        ).scalars()
        found = [
            (c.namespace, c.pod, c.container, c.node, c.workload, dict(c.labels), c.seconds)
            for c in stored
        ]
    assert found == [
        (*r[:5], r[5] if i % 2 else shared, float(i) + 0.1) for i, r in enumerate(rows)
    ]


def _one_row(hour_offset: int, seconds: float) -> ContainerCostRows:
    """One container-hour of pod shop/web, `hour_offset` hours after T0."""
    return ContainerCostRows(
        hours=[T0 + timedelta(hours=hour_offset)],
        namespaces=["shop"],
        pods=["web"],
        containers=["app"],
        nodes=["n1"],
        workloads=["web"],
        labels=[{}],
        sums={name: [seconds] for name in ALLOCATION_SUMS},
    )


async def test_clusters_added_and_pruned_together_keep_to_their_own_rows(
    database: Database, tenant: TenantView
) -> None:
    """Rows of the same container-hour in two clusters, added in one call, are each added to
    their own cluster's hour; pruning both at once forgets each cluster's hours before its own
    horizon only."""
    async with database.tenant(tenant.id) as session:
        clusters = ClusterRepository(session, tenant.id)
        first, second = [
            (await clusters.create(f"rows-{uuid.uuid4().hex[:8]}", provider="aws")).id
            for _ in range(2)
        ]
        repository = CostRollupRepository(session, tenant.id)
        for seconds in (1.0, 2.0):
            await repository.add_rows(
                [
                    ClusterCostRows(first, _one_row(0, seconds), _NO_NODES),
                    ClusterCostRows(first, _one_row(1, seconds), _NO_NODES),
                    ClusterCostRows(second, _one_row(0, 10 * seconds), _NO_NODES),
                    ClusterCostRows(second, _one_row(1, 10 * seconds), _NO_NODES),
                ]
            )
        await repository.prune({first: T0 + timedelta(hours=1), second: T0})
        stored = (
            await session.execute(
                select(
                    CostAllocationRow.cluster_id, CostAllocationRow.hour, CostAllocationRow.seconds
                ).where(CostAllocationRow.cluster_id.in_([first, second]))
            )
        ).all()
    assert sorted(stored) == sorted(
        [
            (first, T0 + timedelta(hours=1), 3.0),
            (second, T0, 30.0),
            (second, T0 + timedelta(hours=1), 30.0),
        ]
    )


_AWKWARD = [1 / 3, 5e-324, 1e-310, 1e306, -0.0, 0.1 + 0.2, 3 * 5e-324, -1.5e306]
"""Floats whose text is easy to get wrong: repeating, subnormal, huge, negative zero."""
_EXTREME = [*_AWKWARD, 1e308, -1.7976931348623157e308, 2.2250738585072014e-308]
"""Besides those, the largest floats and the smallest normal one (stored once: summed, the
largest would overflow)."""


def _awkward_rows(
    figures: Sequence[float], hours: Sequence[int] | None = None
) -> ContainerCostRows:
    """One container-hour of pod `web-<i>` per figure, each summed column the figure, in hour
    T0 or the hours after T0 given."""
    return ContainerCostRows(
        hours=[T0 + timedelta(hours=h) for h in hours or [0] * len(figures)],
        namespaces=["shop"] * len(figures),
        pods=[f"web-{i}" for i in range(len(figures))],
        containers=["app"] * len(figures),
        nodes=["n1"] * len(figures),
        workloads=["web"] * len(figures),
        labels=[{}] * len(figures),
        sums=dict.fromkeys(ALLOCATION_SUMS, figures),
    )


async def test_summed_figures_are_stored_to_the_bit(database: Database, tenant: TenantView) -> None:
    """Figures added once come back as the same floats, bit for bit (subnormals and -0.0
    included), and figures added many times come back as the floats Python's own additions in
    the same order make."""
    async with database.tenant(tenant.id) as session:
        once, many = [
            (await ClusterRepository(session, tenant.id).create(f"bits-{uuid.uuid4().hex[:8]}")).id
            for _ in range(2)
        ]
        repository = CostRollupRepository(session, tenant.id)
        await repository.add_rows([ClusterCostRows(once, _awkward_rows(_EXTREME), _NO_NODES)])
        # The first add inserts its figures as they are (-0.0 stays -0.0); later ones add.
        expected = list(_AWKWARD)
        await repository.add_rows([ClusterCostRows(many, _awkward_rows(expected), _NO_NODES)])
        for step in range(1, 40):
            figures = [value * (1 + step / 1000) for value in _AWKWARD]
            await repository.add_rows([ClusterCostRows(many, _awkward_rows(figures), _NO_NODES)])
            expected = [total + figure for total, figure in zip(expected, figures, strict=True)]
        stored = {
            (cluster, pod): [getattr(row, name) for name in ALLOCATION_SUMS]
            for cluster, pod, row in (
                await session.execute(
                    select(
                        CostAllocationRow.cluster_id, CostAllocationRow.pod, CostAllocationRow
                    ).where(CostAllocationRow.cluster_id.in_([once, many]))
                )
            ).all()
        }
    for i, figure in enumerate(_EXTREME):
        assert [v.hex() for v in stored[once, f"web-{i}"]] == [figure.hex()] * len(ALLOCATION_SUMS)
    for i, summed in enumerate(expected):
        assert [v.hex() for v in stored[many, f"web-{i}"]] == [summed.hex()] * len(ALLOCATION_SUMS)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hours=st.lists(st.lists(st.integers(0, 2), max_size=6), min_size=3, max_size=3))
async def test_each_row_lands_in_its_own_cluster_and_hour(
    database: Database, tenant: TenantView, hours: list[list[int]]
) -> None:
    """Rows of several clusters, their hours in any order (runs of one hour, hours coming
    back, clusters without rows), are each stored in their own cluster's hour."""
    async with database.tenant(tenant.id) as session:
        clusters = ClusterRepository(session, tenant.id)
        ids = [(await clusters.create(f"runs-{uuid.uuid4().hex[:8]}")).id for _ in hours]
        rows = [
            ClusterCostRows(
                cluster_id,
                _awkward_rows([float(i) for i in range(len(offsets))], offsets),
                _NO_NODES,
            )
            for cluster_id, offsets in zip(ids, hours, strict=True)
        ]
        await CostRollupRepository(session, tenant.id).add_rows(rows)
        stored = (
            await session.execute(
                select(
                    CostAllocationRow.cluster_id,
                    CostAllocationRow.pod,
                    CostAllocationRow.hour,
                    CostAllocationRow.seconds,
                ).where(CostAllocationRow.cluster_id.in_(ids))
            )
        ).all()
    assert sorted(stored) == sorted(
        (cluster_id, f"web-{i}", T0 + timedelta(hours=h), float(i))
        for cluster_id, offsets in zip(ids, hours, strict=True)
        for i, h in enumerate(offsets)
    )
