"""Strict validation with the garbage collector paused, keeping only what the caller needs."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator

import pytest

from gateway.problems import Problem
from gateway.validation import validate_strict
from protocol.spot import SpotNotice

NOTICE = (
    '{"notice_id": "%s", "cluster_id": "%s", "provider": "aws", "kind": "termination",'
    ' "node_name": "n1", "detected_at": "2026-11-23T04:00:00Z"}'
)


@pytest.fixture
def collector_disabled() -> Iterator[None]:
    """The collector switched off by someone else for the duration of a test."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_returns_the_kept_fields_and_resumes_the_collector() -> None:
    """The picked fields come back and the collector runs again afterwards."""
    notice_id, cluster_id = uuid.uuid4(), uuid.uuid4()
    body = (NOTICE % (notice_id, cluster_id)).encode()
    kept = validate_strict(SpotNotice, body, lambda n: (n.notice_id, n.node_name))
    assert kept == (notice_id, "n1")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_disabled")
def test_leaves_a_disabled_collector_disabled() -> None:
    """A collector that was off before stays off."""
    validate_strict(SpotNotice, (NOTICE % (uuid.uuid4(), uuid.uuid4())).encode(), lambda n: n)
    assert not gc.isenabled()


def test_invalid_body_is_a_422_problem_and_the_collector_resumes() -> None:
    """A string where strictness wants a UUID: 422 naming the field, collector back on."""
    with pytest.raises(Problem) as refused:
        validate_strict(SpotNotice, (NOTICE % ("nope", uuid.uuid4())).encode(), lambda n: n)
    assert refused.value.status == 422
    assert [p.name for p in refused.value.invalid_params or []] == ["notice_id"]
    assert gc.isenabled()
