"""Clusters count the writes of their usage states, so a worker can tell its copy is current.

An ingest worker keeps the usage states it last wrote for a cluster in memory and uses them
for the cluster's next upload instead of reading a thousand rows back, but only while no one
else has written the cluster's usage states since: every write of them advances this counter
in the same transaction (`UsageStateRepository.put_many`), and the worker compares the counter
it holds with the one in the row it has locked. Existing clusters start at 0; a worker holds no
copy at upgrade time.

Revision ID: 0014_ingest
Revises: 0013_cost
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_ingest"
down_revision = "0013_cost"
branch_labels = None
depends_on = None


def upgrade(app_role: str) -> None:
    """Apply this revision (the table's grants and row-level security already cover it)."""
    del app_role
    op.add_column(
        "clusters",
        sa.Column("usage_generation", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    del app_role
    op.drop_column("clusters", "usage_generation")
