"""Scheduling predicates: taints, selectors, required affinity, room."""

from __future__ import annotations

from protocol.resources import Resources
from protocol.snapshot import Taint, Toleration
from recommender.consolidation.fit import Room, admits, place, tolerates
from tests.unit.recommender.factories import GIB, container, node, spec

GPU_TAINT = Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")


def test_equal_toleration_needs_key_and_value() -> None:
    """Equal matches key and value; a different value does not tolerate."""
    assert tolerates(Toleration(key="nvidia.com/gpu", value="present"), GPU_TAINT)
    assert not tolerates(Toleration(key="nvidia.com/gpu", value="absent"), GPU_TAINT)


def test_exists_without_key_tolerates_everything() -> None:
    """An empty key with Exists tolerates any taint."""
    assert tolerates(Toleration(operator="Exists"), GPU_TAINT)


def test_toleration_for_another_effect_does_not_match() -> None:
    """NoExecute does not tolerate NoSchedule."""
    assert not tolerates(
        Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoExecute"), GPU_TAINT
    )


def test_tainted_node_refuses_an_intolerant_pod() -> None:
    """A GPU taint keeps ordinary pods off."""
    assert not admits(spec(), node("g", taints=[GPU_TAINT]))


def test_prefer_no_schedule_taint_does_not_block() -> None:
    """PreferNoSchedule is only a preference."""
    soft = Taint(key="x", value="y", effect="PreferNoSchedule")
    assert admits(spec(), node("n", taints=[soft]))


def test_node_selector_must_match_labels() -> None:
    """A nodeSelector for another zone refuses the node."""
    assert not admits(spec(node_selector={"topology.kubernetes.io/zone": "us-east-1b"}), node("n"))


def test_required_affinity_terms_are_ored_and_expressions_anded() -> None:
    """Either term may match; within a term every expression must."""
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]},
                    {
                        "matchExpressions": [
                            {"key": "tier", "operator": "Exists"},
                            {"key": "cores", "operator": "Gt", "values": ["8"]},
                        ]
                    },
                ]
            }
        }
    }
    pod_spec = spec(affinity=affinity)
    assert admits(pod_spec, node("a", labels={"team": "a"}))
    assert admits(pod_spec, node("b", labels={"tier": "web", "cores": "16"}))
    assert not admits(pod_spec, node("c", labels={"tier": "web", "cores": "4"}))


def test_cordoned_node_admits_nothing() -> None:
    """An unschedulable node is never a target."""
    assert not admits(spec(), node("n", unschedulable=True))


def test_room_subtracts_requests_of_pods_already_there() -> None:
    """A 4-core node with 3 cores requested has room for 1 core, not 2."""
    room = Room.of(node("n"), [spec(container(cpu=3000, memory=GIB))])
    assert room.fits(Resources(cpu_millis=1000, memory_bytes=GIB))
    assert not room.fits(Resources(cpu_millis=2000, memory_bytes=GIB))


def test_placement_prefers_the_fullest_node_that_fits() -> None:
    """Best fit: a 1-core pod goes to the node with 1 core left, not the empty one."""
    targets = {"empty": node("empty"), "busy": node("busy")}
    rooms = {
        "empty": Room.of(targets["empty"], []),
        "busy": Room.of(targets["busy"], [spec(container(cpu=3000))]),
    }
    placed = place(
        [("p", spec(container(cpu=1000)), Resources(cpu_millis=1000, memory_bytes=GIB))],
        targets,
        rooms,
    )
    assert placed == {"p": "busy"}
