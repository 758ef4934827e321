"""JSON merge patches: applying, diffing, inverting, and the resourceVersion guard."""

from __future__ import annotations

from typing import Any

from executor.planning.merge_patch import (
    apply_merge_patch,
    invert_merge_patch,
    merge_diff,
    resolve_pointer,
    with_resource_version,
)

LIVE: dict[str, Any] = {
    "metadata": {"labels": {"a": "1", "b": "2"}},
    "spec": {"replicas": 2, "tolerations": [{"key": "x"}]},
}


def test_apply_merges_maps_deletes_nulls_and_replaces_lists() -> None:
    """RFC 7386: nested maps merge, null deletes, a list is replaced whole."""
    patch = {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"tolerations": [{"key": "y"}]}}
    assert apply_merge_patch(LIVE, patch) == {
        "metadata": {"labels": {"b": "2", "c": "3"}},
        "spec": {"replicas": 2, "tolerations": [{"key": "y"}]},
    }


def test_apply_leaves_its_inputs_alone() -> None:
    """Applying a patch does not modify the target."""
    before = {"spec": {"replicas": 2}}
    apply_merge_patch(before, {"spec": {"replicas": 5}})
    assert before == {"spec": {"replicas": 2}}


def test_diff_of_equal_documents_is_empty() -> None:
    """Nothing changed, nothing to patch."""
    assert merge_diff(LIVE, LIVE) == {}


def test_diff_turns_before_into_after() -> None:
    """The diff applied to `before` yields `after`, and names only what changed."""
    after = {
        "metadata": {"labels": {"a": "1", "c": "3"}},
        "spec": {"replicas": 4, "tolerations": []},
    }
    diff = merge_diff(LIVE, after)
    assert diff == {
        "metadata": {"labels": {"b": None, "c": "3"}},
        "spec": {"replicas": 4, "tolerations": []},
    }
    assert apply_merge_patch(LIVE, diff) == after


def test_inverse_restores_the_prior_object() -> None:
    """Forward patch then its inverse gives back the original document."""
    patch = {"metadata": {"labels": {"a": "9", "new": "x"}}, "spec": {"replicas": None}}
    inverse = invert_merge_patch(LIVE, patch)
    assert inverse == {"metadata": {"labels": {"a": "1", "new": None}}, "spec": {"replicas": 2}}
    assert apply_merge_patch(apply_merge_patch(LIVE, patch), inverse) == LIVE


def test_inverse_leaves_untouched_fields_out() -> None:
    """The inverse names only keys the forward patch wrote, so others' changes survive undo."""
    inverse = invert_merge_patch(LIVE, {"spec": {"replicas": 5}})
    changed_meanwhile = apply_merge_patch(
        apply_merge_patch(LIVE, {"spec": {"replicas": 5}}), {"metadata": {"labels": {"z": "1"}}}
    )
    assert apply_merge_patch(changed_meanwhile, inverse)["metadata"]["labels"] == {
        "a": "1",
        "b": "2",
        "z": "1",
    }


def test_inverse_of_adding_a_missing_map_deletes_it() -> None:
    """A map the patch created is removed whole by the inverse."""
    assert invert_merge_patch({"spec": {}}, {"spec": {"affinity": {"nodeAffinity": {}}}}) == {
        "spec": {"affinity": None}
    }


def test_resource_version_guard_is_merged_into_metadata() -> None:
    """The guard joins existing metadata keys of the patch."""
    patch = {"metadata": {"labels": {"a": "2"}}}
    assert with_resource_version(patch, "77") == {
        "metadata": {"labels": {"a": "2"}, "resourceVersion": "77"}
    }


def test_pointer_resolves_lists_and_escapes() -> None:
    """Pointers walk maps and lists; '~0' is '~'; a leading-zero index resolves to nothing."""
    document = {"a~b": [{"c": 1}, {"c": 2}]}
    assert resolve_pointer(document, "/a~0b/1/c") == (True, 2)
    assert resolve_pointer(document, "/a~0b/01/c") == (False, None)
    assert resolve_pointer(document, "") == (True, document)
