"""Deltas (protocol v2) go from HTTP to the snapshots topic once, and answers carry resync."""

from __future__ import annotations

import json
from typing import Any

import httpx

from auth.provisioning import ClusterCredentials
from protocol.topics import DeltaMessage, message_key, resync_key
from store.repositories.tenants import TenantView
from tests.integration.gateway.harness import (
    RunningGateway,
    agent_token,
    gzip_json,
    json_headers,
    read_topic,
    small_delta,
    small_snapshot,
)


async def test_delta_reaches_the_snapshots_topic_marked_as_a_delta(
    gateway: RunningGateway, credentials: ClusterCredentials, tenant: TenantView
) -> None:
    """A gzip delta is read back from the snapshots topic unchanged, with payload-kind delta."""
    cluster_id = credentials.cluster.id
    delta = small_delta(cluster_id)
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/deltas",
            content=gzip_json(delta),
            headers=json_headers(token),
        )
    assert response.status_code == 202
    assert response.json() == {"delta_id": str(delta.delta_id), "duplicate": False, "resync": False}
    messages = await read_topic(
        gateway.settings.kafka_bootstrap,
        gateway.settings.snapshots_topic,
        lambda found: any(m.key == message_key(tenant.id, cluster_id) for m in found),
    )
    [record] = [m for m in messages if m.key == message_key(tenant.id, cluster_id)]
    assert DeltaMessage.model_validate_json(record.value).delta == delta
    assert dict(record.headers)["payload-kind"] == b"delta"


async def test_answers_ask_for_a_resync_while_the_workers_want_one(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """With the cluster's resync key set, delta and snapshot answers say resync: true."""
    cluster_id = credentials.cluster.id
    token = await agent_token(gateway, credentials)
    redis = gateway.wiring.redis
    await redis.set(resync_key(cluster_id), b"1")
    try:
        async with gateway.client() as http:
            delta = await http.post(
                f"/v1/clusters/{cluster_id}/deltas",
                content=gzip_json(small_delta(cluster_id)),
                headers=json_headers(token),
            )
            snapshot = await http.post(
                f"/v1/clusters/{cluster_id}/snapshots",
                content=gzip_json(small_snapshot(cluster_id)),
                headers=json_headers(token),
            )
    finally:
        await redis.delete(resync_key(cluster_id))
    assert (delta.json()["resync"], snapshot.json()["resync"]) == (True, True)


async def test_invalid_delta_is_refused_naming_the_field(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A delta with a negative base sequence is a 422 whose invalid_params name the field."""
    cluster_id = credentials.cluster.id
    document = json.loads(small_delta(cluster_id).model_dump_json())
    document["base_sequence"] = -1
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/deltas",
            content=json.dumps(document),
            headers=json_headers(token, gzipped=False),
        )
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == ["base_sequence"]


async def test_delta_for_another_cluster_than_the_path_is_refused(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    sibling_credentials: ClusterCredentials,
) -> None:
    """A delta naming a sibling cluster in its body is a 422 naming cluster.cluster_id."""
    cluster_id = credentials.cluster.id
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        response = await http.post(
            f"/v1/clusters/{cluster_id}/deltas",
            content=gzip_json(small_delta(sibling_credentials.cluster.id)),
            headers=json_headers(token),
        )
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == ["cluster.cluster_id"]


def _with_compact_usage(document: dict[str, Any]) -> dict[str, Any]:
    """The delta document with a one-container, one-device compact usage block."""
    document["compact_usage"] = {
        "version": "1",
        "times": [1_733_360_000.0],
        "strings": ["default", "web-1", "app", "node-a"],
        "devices": [{"node": 3, "gpu_index": 0}],
        "containers": {
            "series_namespace": [0],
            "series_pod": [1],
            "series_container": [2],
            "series_window_seconds": [60],
            "series_length": [1],
            "time": [0],
            "cpu_millicores": [250],
            "memory_mib": [512],
            "throttled_permille": [None],
        },
        "gpus": {
            "series_device": [0],
            "series_namespace": [0],
            "series_pod": [1],
            "series_container": [2],
            "series_length": [1],
            "time": [0],
            "duty_permille": [430],
            "memory_used_mib": [2048],
        },
    }
    return document


async def _post_document(
    gateway: RunningGateway, credentials: ClusterCredentials, document: dict[str, Any]
) -> httpx.Response:
    cluster_id = credentials.cluster.id
    token = await agent_token(gateway, credentials)
    async with gateway.client() as http:
        return await http.post(
            f"/v1/clusters/{cluster_id}/deltas",
            content=json.dumps(document),
            headers=json_headers(token, gzipped=False),
        )


async def test_delta_with_a_compact_usage_block_is_accepted(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A delta carrying a well-formed compact usage block is a 202."""
    document = json.loads(small_delta(credentials.cluster.id).model_dump_json())
    response = await _post_document(gateway, credentials, _with_compact_usage(document))
    assert response.status_code == 202


async def test_compact_index_outside_its_table_is_refused_naming_the_field(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A series naming string 9 of a four-string table is a 422 naming that column entry."""
    document = _with_compact_usage(
        json.loads(small_delta(credentials.cluster.id).model_dump_json())
    )
    document["compact_usage"]["containers"]["series_pod"] = [9]
    response = await _post_document(gateway, credentials, document)
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == [
        "compact_usage.containers.series_pod.0"
    ]


async def test_compact_columns_of_unequal_length_are_refused_naming_the_column(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A memory column one sample short of what series_length adds up to is a 422 naming it."""
    document = _with_compact_usage(
        json.loads(small_delta(credentials.cluster.id).model_dump_json())
    )
    document["compact_usage"]["gpus"]["memory_used_mib"] = []
    response = await _post_document(gateway, credentials, document)
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == [
        "compact_usage.gpus.memory_used_mib"
    ]


async def test_compact_figure_out_of_bounds_is_refused_naming_the_field(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A duty cycle of 1001 per-mille is a 422 naming the column entry."""
    document = _with_compact_usage(
        json.loads(small_delta(credentials.cluster.id).model_dump_json())
    )
    document["compact_usage"]["gpus"]["duty_permille"] = [1001]
    response = await _post_document(gateway, credentials, document)
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == [
        "compact_usage.gpus.duty_permille.0"
    ]


def _with_ordinal_usage(document: dict[str, Any]) -> dict[str, Any]:
    """The delta document with a two-container, one-device ordinal usage block."""
    document["ordinal_usage"] = {
        "version": "1",
        "order": "0123abcd",
        "times": [1_733_360_000.0],
        "containers": {
            "series_slot_step": [1, 1],
            "series_window_seconds": [60],
            "series_length": [1],
            "time": [0],
            "cpu_step": [17, 20],
            "memory_step": [27, 30],
            "throttled_permille": [None],
        },
        "gpus": {
            "series_slot_step": [2],
            "series_gpu_index": [0],
            "series_mig_profile": [None],
            "series_memory_total_mib": [81_920],
            "series_same_device_as": [0],
            "series_length": [1],
            "time": [0],
            "duty_percent": [43],
            "memory_used_step": [60],
        },
    }
    return document


async def test_delta_with_an_ordinal_usage_block_is_accepted(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A delta carrying a well-formed ordinal block is a 202 (places in the container order are
    the workers' to check: only they hold the order)."""
    document = _with_ordinal_usage(
        json.loads(small_delta(credentials.cluster.id).model_dump_json())
    )
    response = await _post_document(gateway, credentials, document)
    assert response.status_code == 202


async def test_ordinal_column_of_another_length_is_refused_naming_it(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A figure column one short of the samples is a 422 naming the column."""
    document = _with_ordinal_usage(
        json.loads(small_delta(credentials.cluster.id).model_dump_json())
    )
    document["ordinal_usage"]["containers"]["cpu_step"] = [17]
    response = await _post_document(gateway, credentials, document)
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == [
        "ordinal_usage.containers.cpu_step"
    ]


async def test_ordinal_step_beyond_the_grid_is_refused_naming_it(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """A GPU memory step past the grid is a 422 naming the entry (pydantic words it)."""
    document = _with_ordinal_usage(
        json.loads(small_delta(credentials.cluster.id).model_dump_json())
    )
    document["ordinal_usage"]["gpus"]["memory_used_step"] = [10_000]
    response = await _post_document(gateway, credentials, document)
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == [
        "ordinal_usage.gpus.memory_used_step.0"
    ]


async def test_ordinal_block_beside_a_compact_one_is_refused(
    gateway: RunningGateway, credentials: ClusterCredentials
) -> None:
    """One upload's samples come in one block: both at once is a 422 naming ordinal_usage."""
    document = json.loads(small_delta(credentials.cluster.id).model_dump_json())
    response = await _post_document(
        gateway, credentials, _with_compact_usage(_with_ordinal_usage(document))
    )
    assert response.status_code == 422
    assert [p["name"] for p in response.json()["invalid_params"]] == ["ordinal_usage"]
