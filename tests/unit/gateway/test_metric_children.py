"""Labelled metric children looked up once."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from gateway.metrics import Children


def _counter() -> tuple[CollectorRegistry, Counter]:
    registry = CollectorRegistry()
    return registry, Counter("things", "Things by kind", ["kind"], registry=registry)


def test_counts_through_a_child_reach_the_metric() -> None:
    """Every increment through a held child shows in the registry under its labels."""
    registry, counter = _counter()
    children = Children(counter)
    children("a").inc()
    children("a").inc(2)
    children("b").inc()
    assert registry.get_sample_value("things_total", {"kind": "a"}) == 3.0
    assert registry.get_sample_value("things_total", {"kind": "b"}) == 1.0


def test_a_child_is_the_one_labels_returns() -> None:
    """The held child is the metric's own child of those labels, not a copy."""
    _, counter = _counter()
    children = Children(counter)
    assert children("a") is counter.labels("a")
    assert children("a") is children("a")
