"""Grouping by codes: counted groups are those `np.unique` sorts, first entries those it finds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.ordered_groups import first_entries, first_seen_groups, sorted_unique

_CODES = st.one_of(
    st.lists(st.integers(-5, 40), max_size=60),
    # Spread wider than the entries are many: sorted rather than counted.
    st.lists(st.sampled_from([-(2**62), -7, 0, 3, 10**9, 2**62]), max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(_CODES)
def test_sorted_unique_is_np_unique_with_inverse(values: list[int]) -> None:
    """Distinct values ascending and each entry's position among them, as np.unique gives."""
    codes = np.array(values, dtype=np.int64)
    distinct, inverse = sorted_unique(codes)
    expected, expected_inverse = np.unique(codes, return_inverse=True)
    assert distinct.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()
    assert distinct.dtype == np.int64
    assert inverse.dtype == np.int64


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.lists(st.integers(0, 299), max_size=60))
def test_first_entries_are_each_groups_first_in_first_seen_order(
    size: int, values: list[int]
) -> None:
    """The entries no earlier entry shares a code with, in entry order, counted or sorted."""
    codes = np.array([value % size for value in values], dtype=np.int64)
    seen: set[int] = set()
    expected = []
    for i, code in enumerate(codes.tolist()):
        if code not in seen:
            seen.add(code)
            expected.append(i)
    assert first_entries(codes, size).tolist() == expected
    assert first_seen_groups(codes)[1].tolist() == expected
