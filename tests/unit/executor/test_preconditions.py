"""Precondition checks: resourceVersion and pinned fields against the live object."""

from __future__ import annotations

from executor.planning.preconditions import precondition_mismatches
from protocol.changes import Precondition

LIVE = {
    "metadata": {
        "name": "gpu-1",
        "resourceVersion": "812",
        "labels": {"nvidia.com/mig.config": "all-1g.10gb", "a/b": "slash"},
    },
    "spec": {"unschedulable": True, "taints": [{"key": "spot", "effect": "NoSchedule"}]},
}


def test_matching_resource_version_holds() -> None:
    """The same resourceVersion means no mismatch."""
    assert precondition_mismatches(Precondition(resource_version="812"), LIVE) == []


def test_changed_resource_version_is_reported() -> None:
    """A different resourceVersion is one mismatch naming both versions."""
    assert precondition_mismatches(Precondition(resource_version="811"), LIVE) == [
        "resourceVersion is 812, expected 811"
    ]


def test_pinned_field_that_still_matches_holds() -> None:
    """Pinned values equal to the live ones (scalar, nested list element) hold."""
    precondition = Precondition(fields={"/spec/unschedulable": True, "/spec/taints/0/key": "spot"})
    assert precondition_mismatches(precondition, LIVE) == []


def test_pinned_field_that_changed_is_reported() -> None:
    """A changed pinned value is reported with actual and expected JSON."""
    mismatches = precondition_mismatches(
        Precondition(fields={"/metadata/labels/nvidia.com~1mig.config": "all-2g.20gb"}), LIVE
    )
    assert mismatches == [
        '/metadata/labels/nvidia.com~1mig.config is "all-1g.10gb", expected "all-2g.20gb"'
    ]


def test_escaped_slash_in_key_is_resolved() -> None:
    """`~1` in a pointer token stands for '/' (RFC 6901)."""
    assert (
        precondition_mismatches(Precondition(fields={"/metadata/labels/a~1b": "slash"}), LIVE) == []
    )


def test_expected_null_matches_an_absent_field() -> None:
    """A field pinned to null holds while the field is absent."""
    assert precondition_mismatches(Precondition(fields={"/spec/podCIDR": None}), LIVE) == []


def test_absent_field_expected_present_is_reported() -> None:
    """A pinned value for a field the object lacks is a mismatch."""
    assert precondition_mismatches(Precondition(fields={"/spec/podCIDR": "10.0.0.0/24"}), LIVE) == [
        '/spec/podCIDR is null, expected "10.0.0.0/24"'
    ]


def test_out_of_range_list_index_counts_as_absent() -> None:
    """A list index past the end resolves to nothing, which differs from a pinned value."""
    mismatches = precondition_mismatches(Precondition(fields={"/spec/taints/3/key": "spot"}), LIVE)
    assert mismatches == ['/spec/taints/3/key is null, expected "spot"']


def test_pointer_without_leading_slash_is_a_mismatch() -> None:
    """A malformed pointer cannot prove the precondition, so it fails it."""
    assert precondition_mismatches(Precondition(fields={"spec": 1}), LIVE) == [
        "'spec' is not a JSON pointer"
    ]


def test_every_mismatch_is_listed() -> None:
    """Version and field mismatches are all reported, fields in pointer order."""
    precondition = Precondition(
        resource_version="1", fields={"/spec/unschedulable": False, "/metadata/name": "x"}
    )
    assert precondition_mismatches(precondition, LIVE) == [
        "resourceVersion is 812, expected 1",
        '/metadata/name is "gpu-1", expected "x"',
        "/spec/unschedulable is true, expected false",
    ]


def test_missing_object_fails_any_precondition() -> None:
    """An object that no longer exists fails a pinned precondition."""
    assert precondition_mismatches(Precondition(resource_version="812"), None) == [
        "the object no longer exists"
    ]


def test_missing_object_with_empty_precondition_is_not_a_mismatch() -> None:
    """Without a precondition, absence is for the planner to judge (a PDB may be created)."""
    assert precondition_mismatches(Precondition(), None) == []


def test_expected_false_matches_an_absent_field() -> None:
    """An absent boolean is false, as the API server omits it: a never-cordoned node holds."""
    precondition = Precondition(fields={"/spec/unschedulable": False})
    assert precondition_mismatches(precondition, {"metadata": {"name": "gpu-2"}, "spec": {}}) == []


def test_expected_false_does_not_match_true() -> None:
    """A cordoned node fails a precondition pinning it uncordoned."""
    mismatches = precondition_mismatches(Precondition(fields={"/spec/unschedulable": False}), LIVE)
    assert mismatches == ["/spec/unschedulable is true, expected false"]
