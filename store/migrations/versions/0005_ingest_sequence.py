"""Clusters keep the sequence number of their stored state and whether a resync is wanted.

Protocol v2 agents send deltas that name the sequence number of the state they apply on; the
ingest worker applies one only on that very state and otherwise asks for a full snapshot.
Nullable: clusters of v1 agents (full snapshots only) have no sequence.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade(app_role: str) -> None:
    """Apply this revision (the table's grants and row-level security already cover it)."""
    del app_role
    op.add_column("clusters", sa.Column("ingest_sequence", sa.BigInteger(), nullable=True))
    op.add_column(
        "clusters",
        sa.Column(
            "resync_requested", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
    )


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    del app_role
    op.drop_column("clusters", "resync_requested")
    op.drop_column("clusters", "ingest_sequence")
