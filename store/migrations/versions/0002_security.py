"""Security fixes: e-mail addresses unique per tenant; snapshot ids unique per tenant and cluster.

A global unique e-mail let one tenant's admin learn, from a conflict, that an address exists in
another tenant. A global snapshot-id primary key made an id already used by another tenant look
like a duplicate, so that tenant's snapshot was silently dropped.

Revision ID: 0002_security
Revises: 0001
Create Date: 2026-12-04 22:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0002_security"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade(app_role: str) -> None:
    """Apply this revision."""
    del app_role  # no grants change: the tables and look-up functions stay as they were
    op.drop_constraint("users_email_key", "users", type_="unique")
    op.create_unique_constraint("uq_users_tenant_id_email", "users", ["tenant_id", "email"])
    op.drop_constraint("snapshots_pkey", "snapshots", type_="primary")
    op.create_primary_key("snapshots_pkey", "snapshots", ["tenant_id", "cluster_id", "snapshot_id"])


def downgrade(app_role: str) -> None:
    """Revert this revision (fails if two tenants now share an address or a snapshot id)."""
    del app_role
    op.drop_constraint("snapshots_pkey", "snapshots", type_="primary")
    op.create_primary_key("snapshots_pkey", "snapshots", ["snapshot_id"])
    op.drop_constraint("uq_users_tenant_id_email", "users", type_="unique")
    op.create_unique_constraint("users_email_key", "users", ["email"])
