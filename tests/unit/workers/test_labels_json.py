"""Pods' labels encoded as the JSON text the cost rollups store."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from store.repositories.cost_rollups import LabelsJson

_LABELS = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)


@given(labels=st.lists(_LABELS, max_size=10), limit=st.integers(min_value=1, max_value=4))
def test_each_row_gets_its_labels_as_json(labels: list[dict[str, str]], limit: int) -> None:
    """Every row's text is its labels' JSON, also when the held texts are let go midway."""
    encoder = LabelsJson(limit)
    rows = labels + labels
    assert encoder.encoded(rows) == [json.dumps(mapping) for mapping in rows]
    assert encoder.encoded(rows) == [json.dumps(mapping) for mapping in rows]


def test_a_labels_object_seen_again_reuses_its_text() -> None:
    """A labels object held from an earlier call is not encoded again."""
    encoder = LabelsJson()
    labels = {"app": "shop"}
    (first,) = encoder.encoded([labels])
    (again,) = encoder.encoded([labels])
    assert again is first
