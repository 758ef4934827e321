"""Side-by-side and unified diffs of manifests."""

from __future__ import annotations

from gateway.console.diff import DiffRow, side_by_side, to_yaml, unified


def test_yaml_keeps_the_manifest_order() -> None:
    """apiVersion, kind and metadata come first, as people expect them."""
    text = to_yaml({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}})
    assert text == "apiVersion: v1\nkind: Node\nmetadata:\n  name: n\n"


def test_side_by_side_pairs_changed_lines_and_marks_additions() -> None:
    """A changed line faces its replacement; an extra line faces nothing."""
    rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    assert rows == [
        DiffRow("same", 1, "a", 1, "a"),
        DiffRow("changed", 2, "b", 2, "B"),
        DiffRow("same", 3, "c", 3, "c"),
        DiffRow("added", None, None, 4, "d"),
    ]


def test_side_by_side_of_a_new_object_is_all_additions() -> None:
    """Nothing live: every proposed line is added."""
    rows = side_by_side("", "x\ny\n")
    assert [r.kind for r in rows] == ["added", "added"]


def test_unified_diff_names_live_and_proposed() -> None:
    """git-style headers and one hunk."""
    text = unified("cpu: '2'\n", "cpu: 450m\n", "deployment-shop-web.yaml")
    assert text.splitlines() == [
        "--- live/deployment-shop-web.yaml",
        "+++ proposed/deployment-shop-web.yaml",
        "@@ -1 +1 @@",
        "-cpu: '2'",
        "+cpu: 450m",
    ]
