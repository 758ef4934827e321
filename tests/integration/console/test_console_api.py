"""The console API on a real gateway: reading, deciding, exporting; roles, scopes and tenants."""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
import zipfile
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from redis.asyncio import Redis

from auth.provisioning import Provisioning
from gateway.console.security import csrf_token
from protocol.canonical import canonical_json
from protocol.instruction import Instruction
from protocol.quantity import format_cpu
from recommender.usage.container_history import ContainerHistory
from store.database import Database
from store.repositories.usage_states import ContainerKey, UsageStateRepository
from tests.integration.console.harness import bearer, get_json, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant
from tests.integration.gateway.harness import RunningGateway, fetch_token

WAKE_TIMEOUT = 10.0


async def _token(gateway: RunningGateway, seeded: SeededTenant, role: str) -> str:
    return await sign_in(gateway, seeded.users[role], PASSWORD)


async def _post(
    gateway: RunningGateway, path: str, token: str, body: dict[str, Any] | None = None
) -> Any:
    async with gateway.client() as http:
        return await http.post(path, headers=bearer(token), json=body or {})


def _path(seeded: SeededTenant, name: str, suffix: str = "") -> str:
    return f"/v1/console/recommendations/{seeded.recommendations[name]}{suffix}"


async def test_list_filters_by_kind(console_gateway: RunningGateway, seeded: SeededTenant) -> None:
    """Filtering by `gpu-sharing` returns the one GPU recommendation."""
    token = await _token(console_gateway, seeded, "viewer")
    response = await get_json(
        console_gateway, "/v1/console/recommendations", token, kind="gpu-sharing"
    )
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [str(seeded.recommendations["gpu"])]


async def test_list_filters_by_minimum_saving_and_sorts(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Open recommendations saving at least $1,000, largest first: GPU sharing, then spot."""
    token = await _token(console_gateway, seeded, "viewer")
    response = await get_json(
        console_gateway, "/v1/console/recommendations", token, status="open", min_saving=1000
    )
    ids = [item["id"] for item in response.json()["items"]]
    assert ids == [str(seeded.recommendations["gpu"]), str(seeded.recommendations["spot"])]


async def test_detail_reports_the_stored_usage_percentiles(
    console_gateway: RunningGateway, seeded: SeededTenant, database: Database
) -> None:
    """The API's CPU p95 is the recommender's own p95 of the stored state."""
    token = await _token(console_gateway, seeded, "viewer")
    detail = (await get_json(console_gateway, _path(seeded, "rightsizing"), token)).json()
    async with database.tenant(seeded.tenant_id) as session:
        states = await UsageStateRepository(session, seeded.tenant_id).get_many(
            seeded.clusters["prod"].id,
            [ContainerKey("shop", "Deployment", "checkout-api", "api")],
        )
    (record,) = states.values()
    state = ContainerHistory.from_bytes(record.state).usage
    (usage,) = detail["usage"]
    assert usage["cpu"]["percentiles"]["p95"] == state.cpu.percentile(0.95)
    assert usage["memory_daily_peaks"]["percentiles"][
        "max"
    ] == state.memory_peaks.histogram.percentile(1.0)
    assert usage["samples"] == state.signals.samples


@pytest.mark.parametrize(("kind", "container"), [("rightsizing", "api"), ("gpu", "server")])
async def test_workload_recommendations_chart_the_stored_usage(
    console_gateway: RunningGateway, seeded: SeededTenant, kind: str, container: str
) -> None:
    """A recommendation on a workload with stored history carries its usage evidence."""
    token = await _token(console_gateway, seeded, "viewer")
    detail = (await get_json(console_gateway, _path(seeded, kind), token)).json()
    (usage,) = detail["usage"]
    assert usage["container"] == container
    assert usage["samples"] > 0


async def test_detail_diffs_the_change_against_the_live_object(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """The unified diff replaces the live 2-core request with the proposed one."""
    token = await _token(console_gateway, seeded, "viewer")
    detail = (await get_json(console_gateway, _path(seeded, "rightsizing"), token)).json()
    proposed = detail["recommendation"]["change_set"]["actions"][0]["containers"][0]["requests"]
    (change,) = detail["changes"]
    lines = change["unified_diff"].splitlines()
    assert "-            cpu: '2'" in lines
    assert f"+            cpu: {format_cpu(proposed['cpu_millis'])}" in lines
    assert (change["live_known"], change["live_resource_version"]) == (True, "918273")


async def test_detail_shows_the_recorded_evidence(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """GPU utilisation percentiles and the spot interruption bucket come back as stored."""
    token = await _token(console_gateway, seeded, "viewer")
    gpu = (await get_json(console_gateway, _path(seeded, "gpu"), token)).json()
    spot = (await get_json(console_gateway, _path(seeded, "spot"), token)).json()
    assert set(gpu["evidence"]["gpu_utilization"]) == {"p50", "p95", "max"}
    assert spot["evidence"]["interruption_bucket"] == "<5%"
    assert (spot["risk"], spot["monthly_saving_usd"]) == (
        "medium",
        round(4 * 0.768 * 0.62 * 730, 2),
    )


async def test_approval_signs_an_instruction_and_wakes_the_executor(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Approving stores a verifiable instruction and publishes its id on the cluster's channel."""
    token = await _token(console_gateway, seeded, "approver")
    cluster_id = seeded.clusters["prod"].id
    redis = Redis.from_url(console_gateway.settings.redis_url)
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(f"instructions:{cluster_id}")
        await asyncio.wait_for(pubsub.get_message(timeout=5.0), WAKE_TIMEOUT)  # the confirmation
        response = await _post(
            console_gateway, _path(seeded, "rightsizing", "/approve"), token, {"comment": "go"}
        )
        message = await asyncio.wait_for(
            pubsub.get_message(ignore_subscribe_messages=True, timeout=WAKE_TIMEOUT), WAKE_TIMEOUT
        )
    finally:
        await pubsub.aclose()
        await redis.aclose()
    assert response.status_code == 200
    decision = response.json()
    assert decision["status"] == "approved"
    assert message is not None
    assert message["data"].decode() == decision["instruction_id"]
    listed = await get_json(
        console_gateway,
        "/v1/console/instructions",
        token,
        recommendation_id=str(seeded.recommendations["rightsizing"]),
    )
    (item,) = listed.json()["items"]
    instruction = Instruction.model_validate(item["envelope"])
    signature = base64.urlsafe_b64decode(instruction.signature + "==")
    # The key executors are told to trust (their chart's `trustedKeys`) verifies it.
    trusted = console_gateway.wiring.instruction_keys.trusted_public_keys()
    public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(trusted[instruction.key_id]))
    public_key.verify(signature, canonical_json(instruction.body))
    assert (item["status"], str(instruction.body.cluster_id)) == ("approved", str(cluster_id))


async def test_second_approval_conflicts(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Approving an approved recommendation is a 409 problem."""
    token = await _token(console_gateway, seeded, "approver")
    first = await _post(console_gateway, _path(seeded, "spot", "/approve"), token)
    second = await _post(console_gateway, _path(seeded, "spot", "/approve"), token)
    assert (first.status_code, second.status_code) == (200, 409)
    assert second.headers["content-type"] == "application/problem+json"


async def test_viewer_cannot_approve(console_gateway: RunningGateway, seeded: SeededTenant) -> None:
    """A viewer's token lacks `console:approve`; the recommendation stays open."""
    token = await _token(console_gateway, seeded, "viewer")
    response = await _post(console_gateway, _path(seeded, "gpu", "/approve"), token)
    detail = (await get_json(console_gateway, _path(seeded, "gpu"), token)).json()
    assert response.status_code == 403
    assert detail["summary"]["status"] == "open"


async def test_script_token_reads_but_cannot_approve(
    console_gateway: RunningGateway, seeded: SeededTenant, provisioning: Provisioning
) -> None:
    """A client-credentials token with `console:read` lists but is refused approval."""
    client = await provisioning.create_client(seeded.tenant_id, ["console:read"], actor="test")
    token = await fetch_token(console_gateway, client.client.client_id, client.secret)
    listed = await get_json(console_gateway, "/v1/console/recommendations", token)
    refused = await _post(console_gateway, _path(seeded, "gpu", "/approve"), token)
    assert (listed.status_code, listed.json()["total"]) == (200, 8)
    assert refused.status_code == 403


async def test_script_with_approve_scope_is_named_in_the_audit_log(
    console_gateway: RunningGateway, seeded: SeededTenant, provisioning: Provisioning
) -> None:
    """An automation's approval is attributed to its client id."""
    client = await provisioning.create_client(
        seeded.tenant_id, ["console:read", "console:approve"], actor="test"
    )
    token = await fetch_token(console_gateway, client.client.client_id, client.secret)
    response = await _post(console_gateway, _path(seeded, "gpu", "/reject"), token)
    audit = await get_json(
        console_gateway,
        "/v1/console/audit",
        token,
        subject_id=str(seeded.recommendations["gpu"]),
    )
    assert response.json()["decided_by"] == f"client:{client.client.client_id}"
    assert audit.json()["items"][0]["actor"] == f"client:{client.client.client_id}"


async def test_cookie_session_needs_the_csrf_header(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """With only the session cookie a decision is refused; with the CSRF header it passes."""
    token = await _token(console_gateway, seeded, "approver")
    path = _path(seeded, "consolidation", "/reject")
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        refused = await http.post(path, json={})
        accepted = await http.post(path, json={}, headers={"X-CSRF-Token": csrf_token(token)})
    assert (refused.status_code, refused.json()["type"]) == (403, "urn:slicewise:problem:csrf")
    assert accepted.status_code == 200


async def test_non_bearer_authorization_header_does_not_skip_the_csrf_check(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Cookie plus `Authorization: Basic` (which a cross-site form can send) still needs CSRF."""
    token = await _token(console_gateway, seeded, "approver")
    path = _path(seeded, "consolidation", "/reject")
    basic = "Basic " + base64.b64encode(b"someone:anything").decode()
    async with console_gateway.client(cookies={"slicewise_session": token}) as http:
        refused = await http.post(path, json={}, headers={"Authorization": basic})
    assert (refused.status_code, refused.json()["type"]) == (403, "urn:slicewise:problem:csrf")


async def test_bearer_token_needs_no_csrf_header(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A script authenticating with its bearer token decides without a CSRF header."""
    token = await _token(console_gateway, seeded, "approver")
    response = await _post(console_gateway, _path(seeded, "consolidation", "/reject"), token)
    assert response.status_code == 200


async def test_snooze_moves_a_recommendation_out_of_open(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Snoozed for a week: listed as snoozed, not as open."""
    token = await _token(console_gateway, seeded, "approver")
    response = await _post(
        console_gateway, _path(seeded, "xss", "/snooze"), token, {"days": 7, "comment": "later"}
    )
    open_ids = {
        i["id"]
        for i in (
            await get_json(console_gateway, "/v1/console/recommendations", token, status="open")
        ).json()["items"]
    }
    snoozed = (
        await get_json(console_gateway, "/v1/console/recommendations", token, status="snoozed")
    ).json()["items"]
    assert response.json()["status"] == "snoozed"
    assert str(seeded.recommendations["xss"]) not in open_ids
    assert [i["id"] for i in snoozed] == [str(seeded.recommendations["xss"])]


async def test_other_tenant_sees_nothing(
    console_gateway: RunningGateway, seeded: SeededTenant, seeded_other: SeededTenant
) -> None:
    """Tenant B's list holds only B's recommendations; A's detail, export and decisions are 404."""
    token = await _token(console_gateway, seeded_other, "approver")
    listed = await get_json(console_gateway, "/v1/console/recommendations", token)
    ids = {i["id"] for i in listed.json()["items"]}
    detail = await get_json(console_gateway, _path(seeded, "gpu"), token)
    export = await get_json(console_gateway, _path(seeded, "spot", "/export/kustomize"), token)
    approve = await _post(console_gateway, _path(seeded, "gpu", "/approve"), token)
    clusters = await get_json(console_gateway, "/v1/console/clusters", token)
    # Five open recommendations and three decided ones of B's own history.
    assert len(ids) == 8
    assert ids >= {str(i) for i in seeded_other.recommendations.values()}
    assert ids.isdisjoint({str(i) for i in seeded.recommendations.values()})
    assert (detail.status_code, export.status_code, approve.status_code) == (404, 404, 404)
    assert {c["id"] for c in clusters.json()["items"]} == {
        str(c.id) for c in seeded_other.clusters.values()
    }


async def test_kustomize_export(console_gateway: RunningGateway, seeded: SeededTenant) -> None:
    """The JSON overlay, the zip and the plain YAML all carry the same patch."""
    token = await _token(console_gateway, seeded, "viewer")
    overlay = (
        await get_json(console_gateway, _path(seeded, "spot", "/export/kustomize"), token)
    ).json()
    archive = await get_json(console_gateway, _path(seeded, "spot", "/export/kustomize.zip"), token)
    plain = await get_json(console_gateway, _path(seeded, "spot", "/export/patch.yaml"), token)
    patch_path = "patches/deployment-batch-report-worker.yaml"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        zipped = {name.split("/", 1)[1]: z.read(name).decode() for name in z.namelist()}
    documents = [d for d in yaml.safe_load_all(plain.text) if d]
    assert sorted(overlay["files"]) == [
        "kustomization.yaml",
        patch_path,
        "poddisruptionbudget-batch-report-worker.yaml",
    ]
    assert zipped == overlay["files"]
    assert archive.headers["content-type"] == "application/zip"
    assert plain.headers["content-type"].startswith("application/yaml")
    assert documents[0] == yaml.safe_load(overlay["files"][patch_path])


async def test_node_only_recommendation_is_not_exportable(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Cordon and drain: 409 with the reason."""
    token = await _token(console_gateway, seeded, "viewer")
    response = await get_json(
        console_gateway, _path(seeded, "consolidation", "/export/kustomize"), token
    )
    assert response.status_code == 409
    assert "nodes" in response.json()["detail"]


async def test_savings_over_time(console_gateway: RunningGateway, seeded: SeededTenant) -> None:
    """Approvals of $900, $1,400 and $2,300 over the last 60 days, each applied a day later."""
    token = await _token(console_gateway, seeded, "viewer")
    points = (await get_json(console_gateway, "/v1/console/savings", token, days=90)).json()[
        "points"
    ]
    first, last = points[0], points[-1]
    assert (first["estimated_monthly_usd"], first["realised_monthly_usd"]) == (0.0, 0.0)
    assert (last["estimated_monthly_usd"], last["realised_monthly_usd"]) == (4600.0, 4600.0)
    assert last["monthly_cost_usd"] == 138270.0
    # $900 for 59 days, $1,400 for 39 and $2,300 for 19, at 730 hours a month.
    expected = (900 * 59 + 1400 * 39 + 2300 * 19) * 24 / 730
    assert abs(last["realised_to_date_usd"] - expected) < 1.0


async def test_clusters_with_totals(console_gateway: RunningGateway, seeded: SeededTenant) -> None:
    """Two healthy clusters costing $41,870 and $96,400 a month."""
    token = await _token(console_gateway, seeded, "viewer")
    body = (await get_json(console_gateway, "/v1/console/clusters", token)).json()
    assert body["totals"]["clusters"] == 2
    assert body["totals"]["healthy_clusters"] == 2
    assert body["totals"]["monthly_cost_usd"] == 138270.0
    assert [c["healthy"] for c in body["items"]] == [True, True]


async def test_unknown_recommendation_is_a_404_problem(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A random id is not found."""
    token = await _token(console_gateway, seeded, "viewer")
    response = await get_json(console_gateway, f"/v1/console/recommendations/{uuid.uuid4()}", token)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
