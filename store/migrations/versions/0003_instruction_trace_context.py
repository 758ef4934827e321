"""Instructions keep the trace context of the approval that created them.

Delivery to the executor continues that trace, so one trace shows an approval's whole path to
the cluster and back. Nullable: rows from before, and approvals made outside a trace, have none.

Revision ID: 0003
Revises: 0002_security
Create Date: 2026-12-04 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002_security"
branch_labels = None
depends_on = None


def upgrade(app_role: str) -> None:
    """Apply this revision."""
    del app_role  # the role's table grants cover the new column
    op.add_column(
        "instructions",
        sa.Column("trace_context", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    del app_role
    op.drop_column("instructions", "trace_context")
