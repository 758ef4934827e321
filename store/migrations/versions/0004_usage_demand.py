"""Usage states keep a demand history beside the container history (autoscaling advice).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade(app_role: str) -> None:
    """Apply this revision (the table's grants and row-level security already cover it)."""
    del app_role
    op.add_column("usage_states", sa.Column("demand", sa.LargeBinary(), nullable=True))


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    del app_role
    op.drop_column("usage_states", "demand")
