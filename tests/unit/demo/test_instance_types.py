"""The trace's machines as AWS instance types, zones and capacity types."""

from __future__ import annotations

from demo.instance_types import ZONES, instance_type_for, is_spot, zone_for


def test_a_two_gpu_t4_node_is_priced_as_the_four_gpu_g4dn() -> None:
    """The smallest instance of the model's family with at least as many GPUs is chosen."""
    assert instance_type_for("T4", 2) == "g4dn.12xlarge"
    assert instance_type_for("V100M16", 1) == "p3.2xlarge"
    assert instance_type_for("G2", 8) == "g5.48xlarge"


def test_an_unknown_model_has_no_instance_type() -> None:
    """Nodes of an unmapped model are left to be priced by shape."""
    assert instance_type_for("H200", 8) is None
    assert instance_type_for("T4", 16) is None


def test_spot_share_is_close_to_the_requested_share() -> None:
    """A quarter of 2,000 node names land on spot, within two percentage points."""
    names = [f"node-{i}" for i in range(2000)]
    share = sum(is_spot(name, 0.25) for name in names) / len(names)
    assert abs(share - 0.25) < 0.02
    assert not any(is_spot(name, 0.0) for name in names)


def test_zone_is_stable_and_spread() -> None:
    """The same node always gets the same zone, and every zone is used."""
    names = [f"node-{i}" for i in range(300)]
    assert [zone_for(n) for n in names] == [zone_for(n) for n in names]
    assert {zone_for(n) for n in names} == set(ZONES)
