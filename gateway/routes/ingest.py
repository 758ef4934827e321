"""Snapshot, delta and spot-notice ingest: authenticated, validated, limited and deduplicated
(in one round trip), produced. Answers to snapshots and deltas say whether the workers want a
full snapshot next."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Literal, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from auth.principal import Principal
from auth.scopes import Scope
from gateway.body import read_json_body
from gateway.deps import IngestPrincipal, WiringDep, require_cluster
from gateway.ingest import Submission
from gateway.openapi import json_body
from gateway.problems import MAX_INVALID_PARAMS, PROBLEM_RESPONSES, InvalidParam, Problem
from gateway.rate_limit import Limit, rate_limited
from gateway.validation import MirroredValidator, validate_strict
from gateway.wiring import Wiring
from protocol.compact_usage import compact_usage_problems
from protocol.delta import ClusterDelta
from protocol.ordinal_usage import ordinal_usage_problems
from protocol.snapshot import ClusterSnapshot
from protocol.spot import SpotNotice
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, resync_key

router = APIRouter(prefix="/v1/clusters/{cluster_id}", tags=["ingest"])
_SNAPSHOTS = MirroredValidator(ClusterSnapshot)
_DELTAS = MirroredValidator(ClusterDelta)
_DELTA_HEADERS = ((PAYLOAD_KIND_HEADER, DELTA_PAYLOAD),)
Upload = TypeVar("Upload", ClusterSnapshot, ClusterDelta)


class SnapshotAccepted(BaseModel):
    """A snapshot the broker has durably stored (or had already)."""

    snapshot_id: uuid.UUID
    duplicate: bool = False
    resync: bool = False
    """The workers want a full snapshot next (they found a gap in the cluster's deltas)."""


class DeltaAccepted(BaseModel):
    """A delta the broker has durably stored (or had already)."""

    delta_id: uuid.UUID
    duplicate: bool = False
    resync: bool = False
    """The workers want a full snapshot next: a delta was lost or came out of order."""


class NoticeAccepted(BaseModel):
    """A spot notice the broker has durably stored (or had already)."""

    notice_id: uuid.UUID
    duplicate: bool = False


@router.post(
    "/snapshots",
    status_code=202,
    response_model=SnapshotAccepted,
    responses=PROBLEM_RESPONSES,
    openapi_extra=json_body(ClusterSnapshot),
)
async def post_snapshot(
    cluster_id: uuid.UUID, request: Request, principal: IngestPrincipal, wiring: WiringDep
) -> Response:
    """Accept a cluster snapshot; 202 once the event log has it."""
    return await _accept_upload(
        wiring,
        principal,
        cluster_id,
        request,
        kind="snapshot",
        validator=_SNAPSHOTS,
        ids=lambda s: (s.snapshot_id, s.cluster.cluster_id),
    )


@router.post(
    "/deltas",
    status_code=202,
    response_model=DeltaAccepted,
    responses=PROBLEM_RESPONSES,
    openapi_extra=json_body(ClusterDelta),
)
async def post_delta(
    cluster_id: uuid.UUID, request: Request, principal: IngestPrincipal, wiring: WiringDep
) -> Response:
    """Accept a cluster delta (protocol v2); 202 once the event log has it.

    Deltas count against the snapshot rate limits: an agent sends one or the other per interval.
    """
    return await _accept_upload(
        wiring,
        principal,
        cluster_id,
        request,
        kind="delta",
        validator=_DELTAS,
        ids=_delta_ids,
    )


UPLOAD_SCOPES = frozenset({Scope.INGEST.value})
"""The scopes every upload route requires (its `IngestPrincipal`)."""


def upload_routes() -> dict[str, APIRoute]:
    """The upload routes (snapshots, deltas, spot notices) by their path's last segment, each
    served by an endpoint called as `endpoint(cluster_id, request, principal, wiring)`."""
    return {
        route.path.rsplit("/", 1)[1]: route
        for route in router.routes
        if isinstance(route, APIRoute) and route.methods == {"POST"}
    }


def _delta_ids(delta: ClusterDelta) -> tuple[uuid.UUID, uuid.UUID]:
    """The delta's id and cluster's, once its usage block (if any) can be read: its columns
    agree in length and its indices fall within its tables (which types cannot say). Places in
    an ordinal block's container order are the workers' to check: only they hold the order."""
    problems: list[tuple[str, str]] = []
    if delta.compact_usage is not None:
        problems += compact_usage_problems(delta.compact_usage)
    if delta.ordinal_usage is not None:
        problems += ordinal_usage_problems(delta.ordinal_usage)
        if delta.compact_usage is not None:
            problems.append(("ordinal_usage", "is not accepted beside compact_usage"))
    if problems:
        raise Problem(
            422,
            "validation",
            "Request is not valid",
            f"{len(problems)} invalid field(s)",
            invalid_params=[
                InvalidParam(name=name, reason=why) for name, why in problems[:MAX_INVALID_PARAMS]
            ],
            reason="invalid-body",
        )
    return delta.delta_id, delta.cluster.cluster_id


@router.post(
    "/spot-notices",
    status_code=202,
    response_model=NoticeAccepted,
    responses=PROBLEM_RESPONSES,
    openapi_extra=json_body(SpotNotice),
)
async def post_spot_notice(
    cluster_id: uuid.UUID, request: Request, principal: IngestPrincipal, wiring: WiringDep
) -> Response:
    """Accept a spot interruption notice; 202 once the event log has it."""
    limits = _limits(wiring, principal, cluster_id, "notice")
    async with _counted_if_refused(wiring, limits, "notice"):
        raw = await read_json_body(request, wiring.limits)
        notice_id, body_cluster = validate_strict(
            SpotNotice, raw, lambda n: (n.notice_id, n.cluster_id)
        )
        _same_cluster(body_cluster, cluster_id, "cluster_id")
    return await _produce(
        wiring, principal, cluster_id, raw, notice_id, kind="notice", limits=limits
    )


async def _accept_upload(
    wiring: Wiring,
    principal: Principal,
    cluster_id: uuid.UUID,
    request: Request,
    *,
    kind: Literal["snapshot", "delta"],
    validator: MirroredValidator[Upload],
    ids: Callable[[Upload], tuple[uuid.UUID, uuid.UUID]],
) -> Response:
    """Admit, validate and produce a snapshot or delta; `ids` reads its id and its cluster's."""
    limits = _limits(wiring, principal, cluster_id, "snapshot")
    async with _counted_if_refused(wiring, limits, "snapshot"):
        raw = await read_json_body(request, wiring.limits)
        checked = validator.validate(raw, ids)
        wiring.metrics.validated_of(kind, checked.by).inc()
        item_id, body_cluster = checked.kept
        _same_cluster(body_cluster, cluster_id, "cluster.cluster_id")
    return await _produce(wiring, principal, cluster_id, raw, item_id, kind=kind, limits=limits)


def _limits(
    wiring: Wiring,
    principal: Principal,
    cluster_id: uuid.UUID,
    what: Literal["snapshot", "notice"],
) -> tuple[Limit, ...]:
    """The limits a request counts against, once the principal may send for the cluster and
    no window this process knows exhausted refuses it (deltas count as snapshots: an agent
    sends one or the other per interval).

    The count itself is taken with the id's claim, after the body was read: one round trip.
    """
    require_cluster(principal, cluster_id)
    settings = wiring.settings
    if what == "snapshot":
        per_cluster, per_tenant = (
            settings.snapshot_rate_per_cluster,
            settings.snapshot_rate_per_tenant,
        )
    else:
        per_cluster, per_tenant = settings.notice_rate_per_cluster, settings.notice_rate_per_tenant
    limits = (
        Limit(f"{what}:tenant:{principal.tenant_id}", per_tenant, "tenant"),
        Limit(f"{what}:cluster:{cluster_id}", per_cluster, "cluster"),
    )
    verdict = wiring.limiter.known_refusal(limits)
    if not verdict.allowed:
        raise rate_limited(verdict, what)
    return limits


@contextlib.asynccontextmanager
async def _counted_if_refused(
    wiring: Wiring, limits: tuple[Limit, ...], what: str
) -> AsyncIterator[None]:
    """A body refused (413, 415, 400, 422) counts against the limits as an accepted one does;
    and is answered 429 if they are exhausted, as it was before its body was read."""
    try:
        yield
    except Problem as e:
        verdict = await wiring.limiter.hit(limits)
        if not verdict.allowed:
            raise rate_limited(verdict, what) from e
        raise


def _same_cluster(body_cluster: uuid.UUID, path_cluster: uuid.UUID, field: str) -> None:
    if body_cluster != path_cluster:
        raise Problem(
            422,
            "validation",
            "Request is not valid",
            "the body names another cluster than the path",
            invalid_params=[InvalidParam(name=field, reason="does not match the path cluster")],
            reason="cluster-id-mismatch",
        )


async def _produce(
    wiring: Wiring,
    principal: Principal,
    cluster_id: uuid.UUID,
    raw: bytes,
    item_id: uuid.UUID,
    *,
    kind: Literal["snapshot", "delta", "notice"],
    limits: tuple[Limit, ...],
) -> Response:
    """Put the item on its topic (once per id); 202 `{"<kind>_id": ..., "duplicate": ...}`,
    with `"resync": ...` for snapshots and deltas.

    `kind` also names the item's field in the topic's envelope (SnapshotMessage.snapshot,
    DeltaMessage.delta, SpotNoticeMessage.notice). Deltas go to the snapshots topic, under the
    same key, so that a cluster's snapshots and deltas keep their order.
    """
    settings = wiring.settings
    topic = settings.spot_notices_topic if kind == "notice" else settings.snapshots_topic
    submitted = await wiring.ingest.submit(
        Submission(
            kind=kind,
            topic=topic,
            field=kind,
            tenant_id=principal.tenant_id,
            cluster_id=cluster_id,
            item_id=item_id,
            raw=raw,
            received_at=wiring.clock(),
            headers=_DELTA_HEADERS if kind == "delta" else (),
            # The workers' resync request, read in the claim's round trip.
            flag_key=None if kind == "notice" else resync_key(cluster_id),
            limits=limits,
            limited="notice" if kind == "notice" else "snapshot",
        )
    )
    # Written by hand: this is the hot path, and the document is tiny and fixed.
    resync = ""
    if kind != "notice":
        resync = f',"resync":{"true" if submitted.flagged else "false"}'
    duplicate = "true" if submitted.duplicate else "false"
    body = f'{{"{kind}_id":"{item_id}","duplicate":{duplicate}{resync}}}'
    return Response(body, status_code=202, media_type="application/json")
