"""A polled batch cut into the runs one transaction each folds, by the bytes they hold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.workers.factories import record
from workers.ingest.record_runs import byte_runs


@given(
    sizes=st.lists(st.integers(0, 50), max_size=30),
    limit=st.integers(1, 120),
)
def test_runs_keep_the_records_in_order_within_the_limit(sizes: list[int], limit: int) -> None:
    """The runs hold every record once, in order; each holds at most `limit` bytes or is one
    larger record alone, and no run could have taken its next run's first record."""
    records = [record(b"x" * size, offset=offset) for offset, size in enumerate(sizes)]
    runs = byte_runs(records, limit)
    assert [r.offset for run in runs for r in run] == list(range(len(sizes)))
    held = [sum(len(r.value or b"") for r in run) for run in runs]
    for run, total in zip(runs, held, strict=True):
        assert run
        assert total <= limit or len(run) == 1
    for total, after in zip(held, runs[1:], strict=False):
        assert total + len(after[0].value or b"") > limit


def test_a_record_larger_than_the_limit_is_a_run_of_its_own() -> None:
    """A record over the limit is folded alone, between the runs before and after it."""
    records = [record(b"a" * 3), record(b"b" * 3), record(b"c" * 10), record(b"d"), record(None)]
    runs = byte_runs(records, 6)
    assert [[r.value for r in run] for run in runs] == [
        [b"aaa", b"bbb"],
        [b"c" * 10],
        [b"d", None],
    ]
    assert byte_runs([], 6) == []
