"""The cyclic collector settings ingest folds with, as a context."""

from __future__ import annotations

import gc

import pytest

from workers.processes import INGEST_COLLECTOR_THRESHOLDS, ingest_collector


def test_ingest_collector_sets_the_thresholds_and_gives_back_the_ones_it_found() -> None:
    before = gc.get_threshold()
    assert before != INGEST_COLLECTOR_THRESHOLDS
    with ingest_collector():
        assert gc.get_threshold() == INGEST_COLLECTOR_THRESHOLDS
    assert gc.get_threshold() == before


def test_ingest_collector_gives_the_thresholds_back_when_the_fold_raises() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="fold failed"), ingest_collector():
        raise RuntimeError("fold failed")
    assert gc.get_threshold() == before
