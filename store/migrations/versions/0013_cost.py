"""Idle-GPU episodes per workload, and each container's own GPU duty cycle in the hourly rollups.

An episode was one node's; it is now one workload's (namespace and controller), naming the nodes
its idle GPUs are on and its owner labels. Node episodes do not translate into workload ones, so
the table is made anew: workloads idle at upgrade time are detected again and announced once.
`cost_allocations` gains the duty cycle DCGM reported for the container's own GPUs (seconds at
duty, and the seconds sampled), so a workload's GPUs are judged by their own use where the agent
attributes devices to pods.

Revision ID: 0013_cost
Revises: 0010
Create Date: 2026-12-05 04:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_cost"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "idle_gpu_episodes"
DUTY_COLUMNS = ("gpu_duty_seconds", "duty_sampled_seconds")


def _create_episodes(app_role: str, key: tuple[str, ...], *columns: sa.Column[Any]) -> None:
    """The episodes table keyed by tenant, cluster, `key` and start, under tenant isolation."""
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        *columns,
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mean_duty", sa.Float(), nullable=False),
        sa.Column("gpus", sa.Float(), nullable=False),
        sa.Column("cost_per_day_usd", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "cluster_id", *key, "started_at"),
    )
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        "USING (tenant_id = slicewise_current_tenant()) "
        "WITH CHECK (tenant_id = slicewise_current_tenant())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {app_role}")


def _json(name: str, default: str) -> sa.Column[Any]:
    return sa.Column(name, postgresql.JSONB(), server_default=default, nullable=False)


def upgrade(app_role: str) -> None:
    """Add the per-container duty columns; rebuild the episodes table keyed by workload."""
    for name in DUTY_COLUMNS:
        op.add_column(
            "cost_allocations",
            sa.Column(name, sa.Float(), server_default="0", nullable=False),
        )
    op.drop_table(TABLE)
    _create_episodes(
        app_role,
        ("namespace", "workload"),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("workload", sa.String(320), nullable=False),
        _json("nodes", "[]"),
        _json("owners", "{}"),
    )


def downgrade(app_role: str) -> None:
    """Back to node episodes (workload episodes are dropped) and no per-container duty."""
    op.drop_table(TABLE)
    _create_episodes(
        app_role,
        ("node",),
        sa.Column("node", sa.String(253), nullable=False),
        _json("holders", "[]"),
    )
    for name in DUTY_COLUMNS:
        op.drop_column("cost_allocations", name)
