"""ResourceLists become integer millicores, bytes and counts."""

from __future__ import annotations

from agent.convert.resources import MAX_EXTENDED, to_resources


def test_cpu_memory_and_gpus_are_normalised() -> None:
    """250m CPU, 1.5Gi memory and two GPUs parse to exact integers."""
    resources = to_resources({"cpu": "250m", "memory": "1.5Gi", "nvidia.com/gpu": "2"})
    assert resources.cpu_millis == 250
    assert resources.memory_bytes == 1_610_612_736
    assert resources.extended == {"nvidia.com/gpu": 2}


def test_node_capacity_keeps_every_extended_resource() -> None:
    """Pods, ephemeral storage and MIG devices are kept as counts."""
    resources = to_resources(
        {
            "cpu": "96",
            "memory": "1056760Ki",
            "pods": "110",
            "ephemeral-storage": "100Gi",
            "nvidia.com/mig-1g.10gb": "7",
        }
    )
    assert resources.cpu_millis == 96_000
    assert resources.memory_bytes == 1_082_122_240
    assert resources.extended == {
        "ephemeral-storage": 107_374_182_400,
        "nvidia.com/mig-1g.10gb": 7,
        "pods": 110,
    }
    assert resources.mig_slices == {"1g.10gb": 7}


def test_unparseable_quantity_is_left_out() -> None:
    """One malformed quantity does not lose the others."""
    resources = to_resources({"cpu": "lots", "memory": "64Mi"})
    assert resources.cpu_millis is None
    assert resources.memory_bytes == 67_108_864


def test_missing_list_is_empty() -> None:
    """No ResourceList means nothing requested."""
    assert to_resources(None).model_dump() == {
        "cpu_millis": None,
        "memory_bytes": None,
        "extended": {},
    }


def test_extended_resources_are_capped_at_the_wire_bound() -> None:
    """Past 32 extended resources, the alphabetically first 32 are kept."""
    many = {f"example.com/r{i:02d}": "1" for i in range(40)}
    resources = to_resources(many)
    assert len(resources.extended) == MAX_EXTENDED
    assert "example.com/r31" in resources.extended
    assert "example.com/r32" not in resources.extended
