"""The rollup repository reads each summed column off the allocation's cost lines by name."""

from __future__ import annotations

import pytest

from recommender.cost.allocation import ContainerHour, NodeHour, allocate
from recommender.cost.cost_columns import CONTAINER_SUMS
from recommender.cost.cost_columns import NODE_SUMS as COLUMNAR_NODE_SUMS
from store.repositories.cost_rollups import ALLOCATION_SUMS, NODE_SUMS

NODE = NodeHour("g1", 10.0, cores=8, memory_gib=64, gpus=2, seconds=1800.0, gpu_duty=0.25)
CONTAINER = ContainerHour(
    "g1", "ml", "p", "c", "Deployment/x", 1800.0, gpu_fraction=0.5, gpu_used=0.1, gpu_duty=0.2
)


@pytest.mark.parametrize("name", ALLOCATION_SUMS)
def test_every_container_column_is_a_number_of_the_container_cost(name: str) -> None:
    """A container's cost line has each summed column as a number."""
    (line,) = allocate([NODE], [CONTAINER]).containers
    assert isinstance(getattr(line, name), float)


@pytest.mark.parametrize("name", NODE_SUMS)
def test_every_node_column_is_a_number_of_the_node_cost(name: str) -> None:
    """A node's cost line has each summed column as a number."""
    (line,) = allocate([NODE], [CONTAINER]).nodes
    assert isinstance(getattr(line, name), float)


def test_duty_columns_weigh_the_duty_by_the_seconds_it_covers() -> None:
    """Half an hour holding half a GPU at 20 % duty: 900 GPU-seconds, 360 duty-seconds over 1,800
    sampled seconds; the node at 25 %: 450 duty-seconds."""
    allocation = allocate([NODE], [CONTAINER])
    (container,) = allocation.containers
    (node,) = allocation.nodes
    assert container.gpu_seconds == 900.0
    assert container.gpu_duty_seconds == pytest.approx(360.0)
    assert container.duty_sampled_seconds == 1800.0
    assert (node.gpu_duty_seconds, node.gpu_allocated_seconds) == (450.0, 900.0)


def test_columnar_allocation_names_every_summed_column_the_repository_adds() -> None:
    """The arrays ingest allocates carry exactly the columns the rollup upserts sum."""
    assert CONTAINER_SUMS == ALLOCATION_SUMS
    assert COLUMNAR_NODE_SUMS == NODE_SUMS
