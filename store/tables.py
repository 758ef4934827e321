"""Table definitions (SQLAlchemy 2 declarative); Alembic migrations create them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TENANT_OWNED_TABLES = (
    "clusters",
    "api_clients",
    "users",
    "snapshots",
    "inventory_objects",
    "usage_states",
    "usage_demand_chunks",
    "spot_notices",
    "recommendations",
    "instructions",
    "audit_log",
    "cluster_costs",
    "cost_allocations",
    "cost_node_hours",
    "saving_groups",
    "idle_gpu_episodes",
)
"""Tables whose rows carry a `tenant_id` and are guarded by the tenant isolation policy."""


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute as-is
        datetime: DateTime(timezone=True),
        uuid.UUID: UUID(as_uuid=True),
        dict[str, Any]: JSONB,
    }


def _tenant_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class Tenant(Base):
    """A customer organisation."""

    __tablename__ = "tenants"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Cluster(Base):
    """A Kubernetes cluster of a tenant, with agent health."""

    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    name: Mapped[str] = mapped_column(String(253))
    provider: Mapped[str] = mapped_column(String(16), server_default="other")
    region: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_snapshot_at: Mapped[datetime | None]
    last_snapshot_id: Mapped[uuid.UUID | None]
    agent_version: Mapped[str | None] = mapped_column(String(64))
    ingest_sequence: Mapped[int | None] = mapped_column(BigInteger)
    """Sequence number of the stored inventory (protocol v2 agents; None for v1)."""
    resync_requested: Mapped[bool] = mapped_column(server_default=text("false"))
    """Set when a delta did not apply on the stored state; a full snapshot clears it."""
    usage_generation: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    """Advanced by every write of the cluster's usage states (a worker's copy of them is current
    while the counter is the one it wrote)."""


class ApiClient(Base):
    """An OAuth2 client (agent, executor, automation) of one tenant and maybe one cluster."""

    __tablename__ = "api_clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE")
    )
    secret_hash: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    description: Mapped[str] = mapped_column(String(200), server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]


class User(Base):
    """A console user with a role: viewer, approver or admin."""

    __tablename__ = "users"
    # Unique per tenant only: a global constraint would tell one tenant's admin, by a conflict,
    # that an address is in use in another tenant.
    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_users_tenant_id_email"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(Text)
    oidc_issuer: Mapped[str | None] = mapped_column(String(512))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Snapshot(Base):
    """Index of snapshots folded into state; the primary key makes ingest idempotent.

    Snapshot ids are chosen by agents, so they are unique only within one tenant's cluster:
    an id another tenant (or cluster) already used must neither clash nor drop this one.
    """

    __tablename__ = "snapshots"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "cluster_id", "snapshot_id"),)
    snapshot_id: Mapped[uuid.UUID] = mapped_column()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    taken_at: Mapped[datetime]
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    node_count: Mapped[int] = mapped_column(Integer)
    pod_count: Mapped[int] = mapped_column(Integer)
    sample_count: Mapped[int] = mapped_column(Integer)


class InventoryObject(Base):
    """The current state of one object of a cluster's inventory (node, pod, workload, PDB, HPA)."""

    __tablename__ = "inventory_objects"
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    uid: Mapped[str] = mapped_column(String(64))
    resource_version: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]]
    snapshot_id: Mapped[uuid.UUID]
    observed_at: Mapped[datetime]


class UsageState(Base):
    """Bounded usage state of one container of one workload (decaying histograms, events)."""

    __tablename__ = "usage_states"
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    namespace: Mapped[str] = mapped_column(String(63), primary_key=True)
    workload_kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    workload_name: Mapped[str] = mapped_column(String(253), primary_key=True)
    container: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    state: Mapped[bytes] = mapped_column(LargeBinary)
    """Fixed-size binary histograms and counters, as the ingest workers serialise them."""
    sample_count: Mapped[int] = mapped_column(BigInteger)
    first_sample_at: Mapped[datetime]
    last_sample_at: Mapped[datetime]
    demand: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    """Demand rings stored whole (CPU, then GPU duty if it has data), as written before they
    were stored in chunks (`UsageDemandChunk`); such a row has no chunks. Loaded only when
    asked for."""
    demand_last_step: Mapped[int] = mapped_column(BigInteger, server_default="-1")
    """The newest step of the CPU demand ring whose slots `usage_demand_chunks` holds."""
    gpu_demand_last_step: Mapped[int] = mapped_column(BigInteger, server_default="-1")
    """The newest step of the GPU-duty demand ring whose slots `usage_demand_chunks` holds."""


class UsageDemandChunk(Base):
    """A run of consecutive slots of one demand ring of a usage state (a missing one is empty).

    A minute's fold changes a slot or two of a ring; its chunk is rewritten, not the ring.
    """

    __tablename__ = "usage_demand_chunks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["cluster_id", "namespace", "workload_kind", "workload_name", "container"],
            [
                "usage_states.cluster_id",
                "usage_states.namespace",
                "usage_states.workload_kind",
                "usage_states.workload_name",
                "usage_states.container",
            ],
            ondelete="CASCADE",
        ),
        CheckConstraint("ring IN (0, 1)", name="ck_usage_demand_chunks_ring"),
    )
    cluster_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(63), primary_key=True)
    workload_kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    workload_name: Mapped[str] = mapped_column(String(253), primary_key=True)
    container: Mapped[str] = mapped_column(String(253), primary_key=True)
    ring: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    """0: CPU demand, 1: GPU-duty demand."""
    chunk: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    """Which run of slots: chunk i holds slots i * n to (i + 1) * n - 1 of the ring."""
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    """The slots' float32 sums (little-endian), then their one-byte minute counts."""


class SpotNoticeRecord(Base):
    """A spot interruption notice as received, and when it was handled."""

    __tablename__ = "spot_notices"
    notice_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    body: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    recommendation_id: Mapped[uuid.UUID | None]


class RecommendationRecord(Base):
    """A recommendation and the decision taken on it."""

    __tablename__ = "recommendations"
    __table_args__ = (Index("ix_recommendations_cluster_status", "cluster_id", "status"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(512))
    """Kind plus target: a new analysis replaces the open recommendation with the same one."""
    monthly_saving_usd: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None]


class InstructionRecord(Base):
    """A signed instruction for a cluster's executor and what became of it."""

    __tablename__ = "instructions"
    __table_args__ = (Index("ix_instructions_cluster_status", "cluster_id", "status"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    recommendation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recommendations.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16))
    envelope: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    delivery_count: Mapped[int] = mapped_column(Integer, server_default="0")
    completed_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    """The W3C `traceparent`/`tracestate` of the approval, continued when it is delivered."""


class ClusterCost(Base):
    """What a cluster's nodes cost per month, as one analysis priced them: the spend history."""

    __tablename__ = "cluster_costs"
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    monthly_cost_usd: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    node_count: Mapped[int] = mapped_column(Integer)
    price_book_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The price book the analysis run priced with (None before runs recorded it)."""


def _usd() -> Mapped[float]:
    return mapped_column(Float, server_default="0")


class CostAllocationRow(Base):
    """What one container cost in one clock hour, by resource (summed over the hour's snapshots)."""

    __tablename__ = "cost_allocations"
    __table_args__ = (Index("ix_cost_allocations_cluster_hour", "cluster_id", "hour"),)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(253), primary_key=True)
    pod: Mapped[str] = mapped_column(String(253), primary_key=True)
    container: Mapped[str] = mapped_column(String(253), primary_key=True)
    node: Mapped[str] = mapped_column(String(253), primary_key=True)
    workload: Mapped[str] = mapped_column(String(320))
    labels: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    seconds: Mapped[float] = mapped_column(Float)
    cpu_usd: Mapped[float] = _usd()
    memory_usd: Mapped[float] = _usd()
    gpu_usd: Mapped[float] = _usd()
    gpu_usage_usd: Mapped[float] = _usd()
    gpu_seconds: Mapped[float] = _usd()
    """GPU-seconds held (fraction of a physical GPU times seconds)."""
    gpu_duty_seconds: Mapped[float] = _usd()
    """Duty cycle DCGM reported for the container's own GPUs, times the seconds it covers."""
    duty_sampled_seconds: Mapped[float] = _usd()
    """Seconds for which DCGM attributed GPU samples to the container."""


class CostNodeHourRow(Base):
    """What one node cost in one clock hour, what of it was idle, and how busy its GPUs were."""

    __tablename__ = "cost_node_hours"
    __table_args__ = (Index("ix_cost_node_hours_cluster_hour", "cluster_id", "hour"),)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(253), primary_key=True)
    instance_type: Mapped[str | None] = mapped_column(String(64))
    spot: Mapped[bool] = mapped_column(Boolean, server_default="false")
    gpus: Mapped[float] = _usd()
    seconds: Mapped[float] = mapped_column(Float)
    total_usd: Mapped[float] = _usd()
    cpu_idle_usd: Mapped[float] = _usd()
    memory_idle_usd: Mapped[float] = _usd()
    gpu_idle_usd: Mapped[float] = _usd()
    gpu_allocated_seconds: Mapped[float] = _usd()
    gpu_duty_seconds: Mapped[float] = _usd()
    """Duty cycle times the seconds it was sampled over."""
    duty_sampled_seconds: Mapped[float] = _usd()


class SavingGroupRow(Base):
    """Which group of alternatives an open recommendation (by fingerprint) belongs to."""

    __tablename__ = "saving_groups"
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(512), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(640))


class IdleGpuEpisodeRow(Base):
    """A workload whose GPUs stayed idle, and the delivery of its one notice."""

    __tablename__ = "idle_gpu_episodes"
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    namespace: Mapped[str] = mapped_column(String(253), primary_key=True)
    workload: Mapped[str] = mapped_column(String(320), primary_key=True)
    """`Kind/name` of the controller, as in the cost rollups."""
    started_at: Mapped[datetime] = mapped_column(primary_key=True)
    nodes: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    """The nodes its idle GPUs are on."""
    owners: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    """Its owner labels (`team`, `owner`, `app.kubernetes.io/*`)."""
    detected_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    mean_duty: Mapped[float] = mapped_column(Float)
    gpus: Mapped[float] = mapped_column(Float)
    cost_per_day_usd: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """An append-only record of a decision or an execution."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")


class SigningKey(Base):
    """A signing key (JWT access tokens or instructions); not tenant-owned."""

    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_key_sealed: Mapped[str] = mapped_column(Text)
    """The private key, AES-GCM sealed with the deployment's key-encryption key."""
    public_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    retired_at: Mapped[datetime | None]
    """No longer used to sign; still published until tokens it signed have expired."""
