"""The local IMDSv2 endpoint that announces the demo's spot interruption."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devstack.spot_metadata import SpotInstanceMetadata

TOKEN_HEADER = "X-aws-ec2-metadata-token"


@pytest.fixture
def due() -> Iterator[SpotInstanceMetadata]:
    """An endpoint whose notice is due at once."""
    endpoint = SpotInstanceMetadata("i-0abc", "us-east-1a", notice_after=0)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def quiet() -> Iterator[SpotInstanceMetadata]:
    """An endpoint whose notice is an hour away."""
    endpoint = SpotInstanceMetadata("i-0abc", "us-east-1a", notice_after=3600)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@contextlib.contextmanager
def _session(endpoint: SpotInstanceMetadata) -> Iterator[httpx.Client]:
    """A client holding an IMDSv2 session token, as the agent's watcher does."""
    with httpx.Client(base_url=endpoint.url, timeout=5, trust_env=False) as client:
        client.headers[TOKEN_HEADER] = client.put("/latest/api/token").text
        yield client


def test_instance_identity_is_served_with_a_session_token(due: SpotInstanceMetadata) -> None:
    """Instance id and zone answer once an IMDSv2 session token is presented."""
    with _session(due) as client:
        assert client.get("/latest/meta-data/instance-id").text == "i-0abc"
        assert client.get("/latest/meta-data/placement/availability-zone").text == "us-east-1a"


def test_requests_without_a_token_are_refused(due: SpotInstanceMetadata) -> None:
    """A GET without the session token answers 401, as IMDSv2 does."""
    with httpx.Client(base_url=due.url, timeout=5, trust_env=False) as client:
        assert client.get("/latest/meta-data/instance-id").status_code == 401


def test_no_instance_action_before_the_notice_is_due(quiet: SpotInstanceMetadata) -> None:
    """`spot/instance-action` answers 404 until the notice time."""
    with _session(quiet) as client:
        assert client.get("/latest/meta-data/spot/instance-action").status_code == 404


def test_due_notice_announces_termination_two_minutes_ahead(due: SpotInstanceMetadata) -> None:
    """Once due, the instance action is a terminate about two minutes from now."""
    with _session(due) as client:
        action = client.get("/latest/meta-data/spot/instance-action").json()
    at = datetime.fromisoformat(action["time"])
    assert action["action"] == "terminate"
    assert timedelta(seconds=100) < at - datetime.now(UTC) <= timedelta(minutes=2)


def test_the_announced_time_stays_the_same_on_every_poll(due: SpotInstanceMetadata) -> None:
    """Repeated polls see one notice (same action and time), as AWS repeats it."""
    with _session(due) as client:
        first = client.get("/latest/meta-data/spot/instance-action").json()
        second = client.get("/latest/meta-data/spot/instance-action").json()
    assert first == second
