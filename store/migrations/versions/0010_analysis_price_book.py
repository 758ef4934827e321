"""Each analysis run records the price book version it priced with, beside the cluster's cost.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-05 02:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade(app_role: str) -> None:
    """Apply this revision (the table's grants and row-level security already cover it)."""
    del app_role
    op.add_column(
        "cluster_costs", sa.Column("price_book_version", sa.String(length=64), nullable=True)
    )


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    del app_role
    op.drop_column("cluster_costs", "price_book_version")
