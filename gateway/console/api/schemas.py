"""Request and response bodies of the console API (documented by the OpenAPI schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, JsonValue

from gateway.console.detail import RecommendationView
from gateway.console.evidence import EvidencePanel
from gateway.console.usage_reader import ContainerUsage, Distribution
from store.repositories.audit import AuditView
from store.repositories.console_instructions import InstructionSummary
from store.repositories.console_queries import (
    ClusterOverview,
    RecommendationSummary,
    TenantTotals,
)

Comment = Annotated[str, Field(max_length=2000)]


class ClusterOut(BaseModel):
    """A cluster with agent health, spend and open savings."""

    id: uuid.UUID
    name: str
    provider: str
    region: str | None
    last_snapshot_at: datetime | None
    agent_version: str | None
    healthy: bool
    """A snapshot arrived in the last five minutes."""
    open_recommendations: int
    open_monthly_saving_usd: float
    monthly_cost_usd: float | None
    node_count: int | None

    @classmethod
    def of(cls, item: ClusterOverview) -> ClusterOut:
        """From the query's view."""
        return cls(
            id=item.id,
            name=item.name,
            provider=item.provider,
            region=item.region,
            last_snapshot_at=item.last_snapshot_at,
            agent_version=item.agent_version,
            healthy=item.healthy,
            open_recommendations=item.open_count,
            open_monthly_saving_usd=item.open_saving_usd,
            monthly_cost_usd=item.monthly_cost_usd,
            node_count=item.node_count,
        )


class TotalsOut(BaseModel):
    """Headline figures over every cluster."""

    clusters: int
    healthy_clusters: int
    monthly_cost_usd: float
    open_recommendations: int
    open_monthly_saving_usd: float

    @classmethod
    def of(cls, totals: TenantTotals) -> TotalsOut:
        """From the query's view."""
        return cls(
            clusters=totals.cluster_count,
            healthy_clusters=totals.healthy_count,
            monthly_cost_usd=totals.monthly_cost_usd,
            open_recommendations=totals.open_count,
            open_monthly_saving_usd=totals.open_saving_usd,
        )


class ClusterPage(BaseModel):
    """One page of clusters and the tenant's totals."""

    items: list[ClusterOut]
    total: int
    page: int
    size: int
    totals: TotalsOut


class RecommendationOut(BaseModel):
    """One row of the recommendations list."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    cluster_name: str
    kind: str
    status: str
    title: str
    target: str
    risk: str
    monthly_saving_usd: float
    confidence: float
    expected_monthly_saving_usd: float
    """Monthly saving times confidence: the list's default ranking and the headline's pick."""
    saving_basis: str
    """`direct`, or `node_removal`: realised only when nodes are removed, and then counted on
    the consolidation in the same group."""
    group_id: str | None
    """Recommendations sharing a group id are alternatives; the headline counts one per group."""
    created_at: datetime
    updated_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    snoozed_until: datetime | None

    @classmethod
    def of(cls, item: RecommendationSummary) -> RecommendationOut:
        """From the query's view."""
        return cls(
            id=item.id,
            cluster_id=item.cluster_id,
            cluster_name=item.cluster_name,
            kind=item.kind,
            status=item.status,
            title=item.title,
            target=item.target,
            risk=item.risk,
            monthly_saving_usd=item.monthly_saving_usd,
            confidence=item.confidence,
            expected_monthly_saving_usd=round(item.expected_saving_usd, 2),
            saving_basis=item.saving_basis,
            group_id=item.group_key,
            created_at=item.created_at,
            updated_at=item.updated_at,
            decided_by=item.decided_by,
            decided_at=item.decided_at,
            snoozed_until=item.snoozed_until,
        )


RANKINGS = {
    "-expected": "expected saving (monthly saving x confidence), largest first",
    "-saving": "monthly saving, largest first",
    "saving": "monthly saving, smallest first",
    "-created": "newest first",
    "created": "oldest first",
    "-risk": "highest risk first",
    "risk": "lowest risk first",
    "cluster": "cluster name",
    "kind": "kind",
}


class RecommendationPage(BaseModel):
    """One page of recommendations."""

    items: list[RecommendationOut]
    total: int
    page: int
    size: int
    sort: str
    ranking: str
    """What the order is: by default, expected saving (monthly saving x confidence)."""


class DistributionOut(BaseModel):
    """Percentiles of one usage histogram (bucket upper bounds) in its unit."""

    unit: str
    percentiles: dict[str, float]

    @classmethod
    def of(cls, distribution: Distribution) -> DistributionOut:
        """From a decoded histogram."""
        return cls(unit=distribution.unit, percentiles=distribution.percentiles())


class ContainerUsageOut(BaseModel):
    """Observed usage of one container of the target workload."""

    container: str
    workload: str
    """`namespace/name` of the container's workload."""
    cpu: DistributionOut
    memory: DistributionOut
    memory_daily_peaks: DistributionOut
    gpu_memory: DistributionOut
    samples: int
    history_seconds: float
    oom_kills: int
    throttled_share: float

    @classmethod
    def of(cls, usage: ContainerUsage) -> ContainerUsageOut:
        """From decoded usage."""
        return cls(
            container=usage.container,
            workload=usage.workload,
            cpu=DistributionOut.of(usage.cpu),
            memory=DistributionOut.of(usage.memory),
            memory_daily_peaks=DistributionOut.of(usage.memory_peaks),
            gpu_memory=DistributionOut.of(usage.gpu_memory),
            samples=usage.samples,
            history_seconds=usage.history_seconds,
            oom_kills=usage.oom_kills,
            throttled_share=usage.throttled_share,
        )


class EvidenceFigureOut(BaseModel):
    """A named value of a piece of evidence, as the page prints it."""

    name: str
    value: str


class EvidenceChartOut(BaseModel):
    """One piece of evidence the page shows: a titled chart and/or figures."""

    title: str
    charted: bool
    """Whether the page draws a chart for it (otherwise figures or a table only)."""
    figures: list[EvidenceFigureOut]

    @classmethod
    def of(cls, panel: EvidencePanel) -> EvidenceChartOut:
        """From a page panel."""
        return cls(
            title=panel.title,
            charted=panel.chart is not None,
            figures=[EvidenceFigureOut(name=f.name, value=f.value) for f in panel.figures],
        )


class ObjectChangeOut(BaseModel):
    """The change to one object: live and proposed YAML, a unified diff and the patch."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    live_known: bool
    live_resource_version: str | None
    live_yaml: str
    proposed_yaml: str
    unified_diff: str
    strategic_merge_patch: dict[str, Any]


class DriftOut(BaseModel):
    """An object the recommendation was computed from, and whether it changed since."""

    kind: str
    namespace: str | None
    name: str
    computed_from_resource_version: str
    live_resource_version: str | None
    changed: bool


class InstructionOut(BaseModel):
    """An instruction and what became of it."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    cluster_name: str
    recommendation_id: uuid.UUID | None
    recommendation_title: str | None
    status: str
    outcome: str | None
    created_at: datetime
    expires_at: datetime
    approved_at: datetime | None
    delivered_at: datetime | None
    delivery_count: int
    completed_at: datetime | None
    result: dict[str, Any] | None
    envelope: dict[str, Any]

    @classmethod
    def of(cls, item: InstructionSummary) -> InstructionOut:
        """From the query's view."""
        return cls(
            id=item.id,
            cluster_id=item.cluster_id,
            cluster_name=item.cluster_name,
            recommendation_id=item.recommendation_id,
            recommendation_title=item.recommendation_title,
            status=item.status,
            outcome=item.outcome,
            created_at=item.created_at,
            expires_at=item.expires_at,
            approved_at=item.approved_at,
            delivered_at=item.delivered_at,
            delivery_count=item.delivery_count,
            completed_at=item.completed_at,
            result=item.result,
            envelope=item.envelope,
        )


class InstructionPage(BaseModel):
    """One page of instructions."""

    items: list[InstructionOut]
    total: int
    page: int
    size: int


class AuditOut(BaseModel):
    """One audit entry."""

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditView) -> AuditOut:
        """From the repository's view."""
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            details=entry.details,
        )


class AuditPage(BaseModel):
    """Newest audit entries; pass `next_before_id` as `before_id` for older ones."""

    items: list[AuditOut]
    next_before_id: int | None


class RecommendationDetailOut(BaseModel):
    """One recommendation: evidence, risk, saving, the exact change and its history."""

    summary: RecommendationOut
    alternatives: list[RecommendationOut]
    """Other open recommendations of the same group, by expected saving; one counts."""
    recommendation: dict[str, JsonValue]
    """The stored recommendation as the recommender wrote it (protocol `Recommendation`)."""
    decision_comment: str | None
    risk: str
    risk_note: str
    monthly_saving_usd: float
    steps: list[str]
    operations: list[str]
    changes: list[ObjectChangeOut]
    usage: list[ContainerUsageOut]
    evidence: dict[str, JsonValue]
    evidence_charts: list[EvidenceChartOut]
    """What the page shows as evidence: usage distributions, then the recommender's figures."""
    drift: list[DriftOut]
    instructions: list[InstructionOut]
    history: list[AuditOut]

    @classmethod
    def of(cls, view: RecommendationView) -> RecommendationDetailOut:
        """From the detail view."""
        rec = view.recommendation
        changes = [
            ObjectChangeOut(
                api_version=d.key.api_version,
                kind=d.key.kind,
                namespace=d.key.namespace or None,
                name=d.key.name,
                live_known=d.live_known,
                live_resource_version=d.resource_version,
                live_yaml=d.before,
                proposed_yaml=d.after,
                unified_diff=d.unified,
                strategic_merge_patch=change.patch,
            )
            for d, change in zip(
                view.diffs, view.preview.changes if view.preview else [], strict=True
            )
        ]
        return cls(
            summary=RecommendationOut.of(view.detail.summary),
            alternatives=[RecommendationOut.of(a) for a in view.alternatives],
            recommendation=view.detail.body,
            decision_comment=view.detail.decision_comment,
            risk=view.detail.summary.risk,
            risk_note=rec.risk_note if rec else "",
            monthly_saving_usd=view.detail.summary.monthly_saving_usd,
            steps=view.preview.steps if view.preview else [],
            operations=view.preview.operations if view.preview else [],
            changes=changes,
            usage=[ContainerUsageOut.of(u) for u in view.usage],
            evidence=dict(rec.evidence) if rec else {},
            evidence_charts=[EvidenceChartOut.of(p) for p in view.panels],
            drift=[
                DriftOut(
                    kind=d.version.kind,
                    namespace=d.version.namespace,
                    name=d.version.name,
                    computed_from_resource_version=d.version.resource_version,
                    live_resource_version=d.live_resource_version,
                    changed=d.changed,
                )
                for d in view.drift
            ],
            instructions=[InstructionOut.of(i) for i in view.instructions],
            history=[AuditOut.of(e) for e in view.history],
        )


class DecisionIn(BaseModel):
    """An approval or rejection with an optional comment."""

    comment: Comment | None = None


class SnoozeIn(BaseModel):
    """A snooze: for how many days, with an optional comment."""

    days: Annotated[int, Field(ge=1, le=365)] = 14
    comment: Comment | None = None


class DecisionOut(BaseModel):
    """The recommendation's status after a decision, and the instruction an approval created."""

    recommendation_id: uuid.UUID
    status: str
    decided_by: str
    decided_at: datetime
    snoozed_until: datetime | None
    instruction_id: uuid.UUID | None
    instruction_expires_at: datetime | None


class SavingsPointOut(BaseModel):
    """Savings and spend at one moment."""

    at: datetime
    estimated_monthly_usd: float
    realised_monthly_usd: float
    realised_to_date_usd: float
    monthly_cost_usd: float | None


class SavingsOut(BaseModel):
    """Savings over time: approved (estimated) against applied (realised), and spend."""

    points: list[SavingsPointOut]


class ExportOut(BaseModel):
    """A Kustomize overlay: file path -> content, and what could not be exported."""

    files: dict[str, str]
    skipped: list[str]
