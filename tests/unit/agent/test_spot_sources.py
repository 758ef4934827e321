"""Each cloud's metadata source reports interruption events as the cloud documents them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from agent.spot.aws import AwsImds
from agent.spot.azure import AzureScheduledEvents
from agent.spot.gcp import GcpMetadata
from protocol.spot import NoticeKind
from tests.unit.agent.cloud_metadata import FakeAwsImds, FakeAzureImds, FakeGceMetadata
from tests.unit.agent.http_servers import serving

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    """A plain client, as the agent uses for node-local endpoints."""
    async with httpx2.AsyncClient(trust_env=False, timeout=5.0) as client:
        yield client


async def test_imds_refuses_a_get_without_session_token(http: httpx2.AsyncClient) -> None:
    """IMDSv2 answers 401 to a GET that carries no token."""
    async with serving(FakeAwsImds().app()) as base:
        response = await http.get(f"{base}/latest/meta-data/spot/instance-action")
    assert response.status_code == 401


async def test_aws_reports_nothing_while_instance_action_is_404(http: httpx2.AsyncClient) -> None:
    """No instance action and no rebalance recommendation: no observation."""
    async with serving(FakeAwsImds().app()) as base:
        assert await AwsImds(http, base).poll() == []


async def test_aws_instance_action_is_a_termination_with_deadline(
    http: httpx2.AsyncClient,
) -> None:
    """`{"action": "terminate", "time": ...}` is a termination at that time."""
    imds = FakeAwsImds(instance_action={"action": "terminate", "time": "2026-03-02T12:02:00Z"})
    async with serving(imds.app()) as base:
        observations = await AwsImds(http, base).poll()
    assert len(observations) == 1
    seen = observations[0]
    assert (seen.kind, seen.action, seen.deadline) == (
        NoticeKind.TERMINATION,
        "terminate",
        datetime(2026, 3, 2, 12, 2, tzinfo=UTC),
    )
    assert (seen.instance_id, seen.zone) == ("i-0abc123def4567890", "us-east-1a")


async def test_aws_rebalance_recommendation_has_no_deadline(http: httpx2.AsyncClient) -> None:
    """`{"noticeTime": ...}` is a rebalance recommendation."""
    imds = FakeAwsImds(rebalance={"noticeTime": "2026-03-02T11:58:00Z"})
    async with serving(imds.app()) as base:
        observations = await AwsImds(http, base).poll()
    assert [(o.kind, o.deadline, o.key) for o in observations] == [
        (NoticeKind.REBALANCE, None, "rebalance/2026-03-02T11:58:00Z")
    ]


async def test_aws_session_token_is_reused(http: httpx2.AsyncClient) -> None:
    """Several polls share one IMDSv2 session token."""
    imds = FakeAwsImds()
    async with serving(imds.app()) as base:
        source = AwsImds(http, base)
        for _ in range(3):
            await source.poll()
    assert imds.token_requests == 1


async def test_aws_refused_session_token_is_renewed(http: httpx2.AsyncClient) -> None:
    """After IMDS forgets the token (401), a new one is fetched and the poll succeeds."""
    imds = FakeAwsImds()
    async with serving(imds.app()) as base:
        source = AwsImds(http, base)
        await source.poll()
        imds.expire_tokens()
        imds.instance_action = {"action": "stop", "time": "2026-03-02T12:02:00Z"}
        observations = await source.poll()
    assert [o.action for o in observations] == ["stop"]
    assert imds.token_requests == 2


async def test_gcp_not_preempted_reports_nothing(http: httpx2.AsyncClient) -> None:
    """`FALSE` is no notice."""
    async with serving(FakeGceMetadata().app()) as base:
        assert await GcpMetadata(http, base, clock=lambda: NOW).poll() == []


async def test_gcp_preempted_gives_thirty_seconds(http: httpx2.AsyncClient) -> None:
    """`TRUE` is a termination 30 s after detection, with instance id and zone."""
    gce = FakeGceMetadata()
    gce.preempt()
    async with serving(gce.app()) as base:
        observations = await GcpMetadata(http, base, clock=lambda: NOW).poll()
    assert [(o.kind, o.deadline, o.action, o.instance_id, o.zone) for o in observations] == [
        (
            NoticeKind.TERMINATION,
            NOW + timedelta(seconds=30),
            "preempted",
            "4520946466958532144",
            "us-central1-a",
        )
    ]


async def test_gcp_metadata_needs_the_flavor_header(http: httpx2.AsyncClient) -> None:
    """The metadata server refuses requests without `Metadata-Flavor: Google`."""
    async with serving(FakeGceMetadata().app()) as base:
        response = await http.get(f"{base}/computeMetadata/v1/instance/preempted")
    assert response.status_code == 403


async def test_gcp_wait_for_change_returns_when_preempted(http: httpx2.AsyncClient) -> None:
    """A hanging poll returns the preemption as soon as it is set."""
    gce = FakeGceMetadata()
    async with serving(gce.app()) as base:
        source = GcpMetadata(http, base, clock=lambda: NOW, wait_for_change=True)
        assert await source.poll() == []
        async with asyncio.TaskGroup() as group:
            hanging = group.create_task(source.poll())
            gce.preempt()
        observations = hanging.result()
    assert [o.kind for o in observations] == [NoticeKind.TERMINATION]


def _preempt(
    resources: list[str], event_id: str = "602d9444-d2cd-49c7-8624-8643e7171297"
) -> dict[str, object]:
    return {
        "EventId": event_id,
        "EventType": "Preempt",
        "ResourceType": "VirtualMachine",
        "Resources": resources,
        "EventStatus": "Scheduled",
        "NotBefore": "Mon, 02 Mar 2026 12:00:30 GMT",
        "Description": "",
        "EventSource": "Platform",
        "DurationInSeconds": -1,
    }


async def test_azure_preempt_event_for_this_vm(http: httpx2.AsyncClient) -> None:
    """A Preempt event naming this VM is a termination at NotBefore."""
    azure = FakeAzureImds()
    azure.schedule(_preempt(["aks-spot-12345678-vmss_3"]))
    async with serving(azure.app()) as base:
        observations = await AzureScheduledEvents(http, base).poll()
    assert [(o.kind, o.deadline, o.action, o.instance_id, o.zone, o.key) for o in observations] == [
        (
            NoticeKind.TERMINATION,
            datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC),
            "Preempt",
            "aks-spot-12345678-vmss_3",
            "2",
            "event/602d9444-d2cd-49c7-8624-8643e7171297",
        )
    ]


async def test_azure_ignores_other_vms_and_event_types(http: httpx2.AsyncClient) -> None:
    """Events for another instance, or Reboot/Freeze events, are not spot notices."""
    azure = FakeAzureImds()
    azure.schedule(_preempt(["aks-spot-12345678-vmss_4"], "a"))
    azure.schedule({**_preempt(["aks-spot-12345678-vmss_3"], "b"), "EventType": "Freeze"})
    async with serving(azure.app()) as base:
        assert await AzureScheduledEvents(http, base).poll() == []


async def test_azure_imds_needs_the_metadata_header(http: httpx2.AsyncClient) -> None:
    """Azure IMDS refuses requests without `Metadata: true`."""
    async with serving(FakeAzureImds().app()) as base:
        response = await http.get(
            f"{base}/metadata/scheduledevents", params={"api-version": "2020-07-01"}
        )
    assert response.status_code == 400
