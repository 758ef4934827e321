"""Hourly cost rollups, saving groups of alternatives and idle-GPU episodes, per tenant.

All four tables are tenant-owned and guarded by the same row-level security policy as the others.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 01:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("cost_allocations", "cost_node_hours", "saving_groups", "idle_gpu_episodes")
INDEXED = ("cost_allocations", "cost_node_hours")


def _usd(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), server_default="0", nullable=False)


def _key() -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("node", sa.String(253), nullable=False),
    ]


def _foreign_keys() -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    ]


def upgrade(app_role: str) -> None:
    """Create the tables with their indexes, grants and tenant isolation policy."""
    op.create_table(
        "cost_allocations",
        *_key(),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("pod", sa.String(253), nullable=False),
        sa.Column("container", sa.String(253), nullable=False),
        sa.Column("workload", sa.String(320), nullable=False),
        sa.Column("labels", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        _usd("cpu_usd"),
        _usd("memory_usd"),
        _usd("gpu_usd"),
        _usd("gpu_usage_usd"),
        sa.Column("gpu_seconds", sa.Float(), server_default="0", nullable=False),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint(
            "tenant_id", "cluster_id", "hour", "namespace", "pod", "container", "node"
        ),
    )
    op.create_table(
        "cost_node_hours",
        *_key(),
        sa.Column("instance_type", sa.String(64), nullable=True),
        sa.Column("spot", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("gpus", sa.Float(), server_default="0", nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        _usd("total_usd"),
        _usd("cpu_idle_usd"),
        _usd("memory_idle_usd"),
        _usd("gpu_idle_usd"),
        sa.Column("gpu_allocated_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("gpu_duty_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("duty_sampled_seconds", sa.Float(), server_default="0", nullable=False),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint("tenant_id", "cluster_id", "hour", "node"),
    )
    op.create_table(
        "saving_groups",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("fingerprint", sa.String(512), nullable=False),
        sa.Column("group_key", sa.String(640), nullable=False),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint("tenant_id", "cluster_id", "fingerprint"),
    )
    op.create_table(
        "idle_gpu_episodes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("node", sa.String(253), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mean_duty", sa.Float(), nullable=False),
        sa.Column("gpus", sa.Float(), nullable=False),
        sa.Column("cost_per_day_usd", sa.Float(), nullable=False),
        sa.Column("holders", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint("tenant_id", "cluster_id", "node", "started_at"),
    )
    for table in INDEXED:
        op.create_index(f"ix_{table}_cluster_hour", table, ["cluster_id", "hour"])
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (tenant_id = slicewise_current_tenant()) "
            "WITH CHECK (tenant_id = slicewise_current_tenant())"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {app_role}")


def downgrade(app_role: str) -> None:
    """Drop the tables (their policies and grants go with them)."""
    del app_role
    for table in INDEXED:
        op.drop_index(f"ix_{table}_cluster_hour", table_name=table)
    for table in TABLES:
        op.drop_table(table)
