"""Everything about one recommendation: its change against the live objects, evidence, history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.console.change_preview import ChangePreview, preview_change_set
from gateway.console.diff import DiffRow, side_by_side, to_yaml, unified
from gateway.console.evidence import EvidencePanel, recommendation_panels, usage_panels
from gateway.console.manifests import (
    Manifest,
    ObjectKey,
    node_manifest,
    pdb_manifest,
    workload_manifest,
)
from gateway.console.usage_reader import (
    ContainerUsage,
    UsageStateFormatError,
    read_container_usage,
)
from protocol.changes import WorkloadRef
from protocol.recommendation import ObjectVersion, Recommendation
from protocol.snapshot import Node, PodDisruptionBudget, Workload, WorkloadKind
from store.repositories.audit import AuditRepository, AuditView
from store.repositories.console_instructions import InstructionQueries, InstructionSummary
from store.repositories.console_paging import PageRequest
from store.repositories.console_queries import (
    ConsoleQueries,
    RecommendationDetail,
    RecommendationSummary,
)
from store.repositories.inventory import InventoryObjectView, InventoryRepository

_log = structlog.get_logger("gateway.console")
_WORKLOAD_KINDS = frozenset(kind.value for kind in WorkloadKind)


@dataclass(frozen=True)
class ObjectDiff:
    """One object's change as YAML, side by side and unified."""

    key: ObjectKey
    before: str
    after: str
    rows: list[DiffRow]
    unified: str
    live_known: bool
    resource_version: str | None


@dataclass(frozen=True)
class Drift:
    """An object the recommendation was computed from, and whether it has changed since."""

    version: ObjectVersion
    live_resource_version: str | None

    @property
    def changed(self) -> bool:
        """Whether the live object no longer has the version the recommendation assumed."""
        return self.live_resource_version != self.version.resource_version


@dataclass(frozen=True)
class RecommendationView:
    """The recommendation page's (and the API's) complete view of one recommendation."""

    detail: RecommendationDetail
    recommendation: Recommendation | None
    """None when the stored body does not satisfy the current contract."""
    preview: ChangePreview | None
    diffs: list[ObjectDiff]
    usage: list[ContainerUsage]
    panels: list[EvidencePanel]
    drift: list[Drift]
    instructions: list[InstructionSummary]
    history: list[AuditView]
    alternatives: list[RecommendationSummary] = field(default_factory=list)
    """Other open recommendations of its group: the headline counts one of them."""


def _inventory_address(key: ObjectKey) -> tuple[str, str, str] | None:
    if key.kind in _WORKLOAD_KINDS or key.kind in {"Node", "PodDisruptionBudget"}:
        return key.kind, key.namespace, key.name
    return None


def _manifest(row: InventoryObjectView) -> Manifest | None:
    try:
        if row.kind in _WORKLOAD_KINDS:
            return workload_manifest(Workload.model_validate(row.body))
        if row.kind == "Node":
            return node_manifest(Node.model_validate(row.body))
        if row.kind == "PodDisruptionBudget":
            return pdb_manifest(PodDisruptionBudget.model_validate(row.body))
    except ValidationError:
        _log.warning("stored object unreadable", kind=row.kind, name=row.name)
    return None


async def _live_objects(
    inventory: InventoryRepository, cluster_id: uuid.UUID, keys: Sequence[ObjectKey]
) -> dict[ObjectKey, InventoryObjectView]:
    found: dict[ObjectKey, InventoryObjectView] = {}
    for key in keys:
        address = _inventory_address(key)
        if address is None:
            continue
        kind, namespace, name = address
        rows = await inventory.find(cluster_id, kind, [(namespace, name)])
        if (row := rows.get((namespace, name))) is not None:
            found[key] = row
    return found


def _diffs(preview: ChangePreview, rows: dict[ObjectKey, InventoryObjectView]) -> list[ObjectDiff]:
    diffs = []
    for change in preview.changes:
        before, after = to_yaml(change.before), to_yaml(change.after)
        row = rows.get(change.key)
        diffs.append(
            ObjectDiff(
                change.key,
                before,
                after,
                side_by_side(before, after),
                unified(before, after, f"{change.key.file_stem}.yaml"),
                change.before is not None,
                None if row is None else row.resource_version,
            )
        )
    return diffs


def _preview_keys(recommendation: Recommendation) -> list[ObjectKey]:
    empty = preview_change_set(recommendation.change_set, {})
    return [change.key for change in empty.changes]


async def _drift(
    inventory: InventoryRepository, cluster_id: uuid.UUID, versions: Sequence[ObjectVersion]
) -> list[Drift]:
    drift = []
    for version in versions:
        namespace = version.namespace or ""
        rows = await inventory.find(cluster_id, version.kind, [(namespace, version.name)])
        row = rows.get((namespace, version.name))
        drift.append(Drift(version, None if row is None else row.resource_version))
    return drift


EVIDENCE_WORKLOADS = 6
"""Workloads whose usage a plan's page charts (a GPU plan may move dozens)."""


def _evidence_targets(recommendation: Recommendation) -> list[WorkloadRef]:
    """The workload a recommendation is about, or the workloads a plan was computed from."""
    if recommendation.workload is not None:
        return [recommendation.workload]
    targets: list[WorkloadRef] = []
    for version in recommendation.computed_from:
        if version.kind not in _WORKLOAD_KINDS or version.namespace is None:
            continue
        ref = WorkloadRef(
            kind=WorkloadKind(version.kind), namespace=version.namespace, name=version.name
        )
        if ref not in targets:
            targets.append(ref)
    return targets[:EVIDENCE_WORKLOADS]


def _live_workload(
    live: dict[ObjectKey, InventoryObjectView], target: WorkloadRef
) -> Workload | None:
    for key, row in live.items():
        if (key.kind, key.namespace, key.name) == (
            target.kind.value,
            target.namespace,
            target.name,
        ):
            try:
                return Workload.model_validate(row.body)
            except ValidationError:
                return None
    return None


async def _usage(
    queries: ConsoleQueries,
    recommendation: Recommendation,
    live: dict[ObjectKey, InventoryObjectView],
) -> tuple[list[ContainerUsage], list[EvidencePanel]]:
    targets = _evidence_targets(recommendation)
    several = len(targets) > 1
    decoded: list[ContainerUsage] = []
    panels: list[EvidencePanel] = []
    for target in targets:
        states = await queries.workload_usage(
            recommendation.cluster_id, target.namespace, target.kind.value, target.name
        )
        workload = _live_workload(live, target)
        label = f"{target.namespace}/{target.name}"
        for state in states:
            try:
                usage = read_container_usage(state.container, state.state)
            except UsageStateFormatError as e:
                _log.warning(
                    "usage state unreadable",
                    workload=label,
                    container=state.container,
                    error=str(e),
                )
                continue
            usage = replace(usage, workload=label)
            decoded.append(usage)
            panels.extend(
                usage_panels(
                    usage,
                    workload,
                    recommendation.change_set,
                    subject=f"{label} · {usage.container}" if several else None,
                    target=target,
                )
            )
    return decoded, panels


async def load_recommendation(
    session: AsyncSession, tenant_id: uuid.UUID, recommendation_id: uuid.UUID, *, now: datetime
) -> RecommendationView:
    """Read one recommendation of the session's tenant with everything shown about it."""
    queries = ConsoleQueries(session, tenant_id)
    detail = await queries.recommendation(recommendation_id, now=now)
    instructions = await InstructionQueries(session, tenant_id).instructions(
        PageRequest(1, 20), recommendation_id=recommendation_id
    )
    history = await AuditRepository(session, tenant_id).list(
        limit=50, subject_id=str(recommendation_id)
    )
    alternatives = await queries.alternatives(detail.summary, now=now)
    try:
        recommendation = Recommendation.model_validate(detail.body)
    except ValidationError:
        _log.warning("stored recommendation unreadable", recommendation_id=str(recommendation_id))
        return RecommendationView(
            detail, None, None, [], [], [], [], instructions.items, history, alternatives
        )
    inventory = InventoryRepository(session, tenant_id)
    rows = await _live_objects(inventory, detail.summary.cluster_id, _preview_keys(recommendation))
    live = {key: manifest for key, row in rows.items() if (manifest := _manifest(row)) is not None}
    preview = preview_change_set(recommendation.change_set, live)
    usage, panels = await _usage(queries, recommendation, rows)
    panels += recommendation_panels(recommendation.evidence)
    drift = await _drift(inventory, detail.summary.cluster_id, recommendation.computed_from)
    return RecommendationView(
        detail,
        recommendation,
        preview,
        _diffs(preview, rows),
        usage,
        panels,
        drift,
        instructions.items,
        history,
        alternatives,
    )
