"""Side-by-side and unified diffs of manifests, as YAML people read."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import yaml

from gateway.console.manifests import Manifest


def to_yaml(manifest: Manifest | None) -> str:
    """Block-style YAML in the manifest's own key order (`""` for None)."""
    if manifest is None:
        return ""
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, width=100)


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff; a side is None where the other side has an extra line."""

    kind: str
    """`same`, `changed`, `removed` or `added`."""
    left_number: int | None
    left: str | None
    right_number: int | None
    right: str | None


def side_by_side(before: str, after: str) -> list[DiffRow]:
    """Align two texts line by line, marking what changed."""
    left, right = before.splitlines(), after.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow("same", i + 1, left[i], j + 1, right[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        for k in range(max(len(olds), len(news))):
            i = olds[k] if k < len(olds) else None
            j = news[k] if k < len(news) else None
            kind = (
                "changed"
                if i is not None and j is not None
                else "removed"
                if j is None
                else "added"
            )
            rows.append(
                DiffRow(
                    kind,
                    None if i is None else i + 1,
                    None if i is None else left[i],
                    None if j is None else j + 1,
                    None if j is None else right[j],
                )
            )
    return rows


def unified(before: str, after: str, name: str) -> str:
    """A unified diff of two texts (`git diff` style headers)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"live/{name}",
        tofile=f"proposed/{name}",
    )
    return "".join(lines)
