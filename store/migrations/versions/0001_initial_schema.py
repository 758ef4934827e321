"""Initial schema: tenants, clusters, clients, users, state, recommendations, instructions, audit.

Also row-level security on every tenant-owned table, the narrow SECURITY DEFINER look-ups that
must cross tenants, and the grants of the application role.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 03:45:53.445034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade(app_role: str) -> None:
    """Apply this revision."""
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_index(op.f("ix_signing_keys_purpose"), "signing_keys", ["purpose"], unique=False)
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "settings", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_tenant_id"), "audit_log", ["tenant_id"], unique=False)
    op.create_table(
        "clusters",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("provider", sa.String(length=16), server_default="other", nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_snapshot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_snapshot_id", sa.UUID(), nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index(op.f("ix_clusters_tenant_id"), "clusters", ["tenant_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("oidc_issuer", sa.String(length=512), nullable=True),
        sa.Column("oidc_subject", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index(op.f("ix_users_tenant_id"), "users", ["tenant_id"], unique=False)
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=True),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("description", sa.String(length=200), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_index(op.f("ix_api_clients_tenant_id"), "api_clients", ["tenant_id"], unique=False)
    op.create_table(
        "inventory_objects",
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("resource_version", sa.String(length=64), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("snapshot_id", sa.UUID(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cluster_id", "kind", "namespace", "name"),
    )
    op.create_index(
        op.f("ix_inventory_objects_tenant_id"), "inventory_objects", ["tenant_id"], unique=False
    )
    op.create_table(
        "recommendations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=512), nullable=False),
        sa.Column(
            "monthly_saving_usd", sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_recommendations_cluster_status",
        "recommendations",
        ["cluster_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_recommendations_tenant_id"), "recommendations", ["tenant_id"], unique=False
    )
    op.create_table(
        "snapshots",
        sa.Column("snapshot_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("pod_count", sa.Integer(), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id"),
    )
    op.create_index(op.f("ix_snapshots_cluster_id"), "snapshots", ["cluster_id"], unique=False)
    op.create_index(op.f("ix_snapshots_tenant_id"), "snapshots", ["tenant_id"], unique=False)
    op.create_table(
        "spot_notices",
        sa.Column("notice_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recommendation_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notice_id"),
    )
    op.create_index(op.f("ix_spot_notices_tenant_id"), "spot_notices", ["tenant_id"], unique=False)
    op.create_table(
        "usage_states",
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("workload_kind", sa.String(length=64), nullable=False),
        sa.Column("workload_name", sa.String(length=253), nullable=False),
        sa.Column("container", sa.String(length=253), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("sample_count", sa.BigInteger(), nullable=False),
        sa.Column("first_sample_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sample_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(
            "cluster_id", "namespace", "workload_kind", "workload_name", "container"
        ),
    )
    op.create_index(op.f("ix_usage_states_tenant_id"), "usage_states", ["tenant_id"], unique=False)
    op.create_table(
        "instructions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("recommendation_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recommendation_id"], ["recommendations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_instructions_cluster_status", "instructions", ["cluster_id", "status"], unique=False
    )
    op.create_index(op.f("ix_instructions_tenant_id"), "instructions", ["tenant_id"], unique=False)
    op.create_table(
        "cluster_costs",
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "monthly_cost_usd", sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cluster_id", "computed_at"),
    )
    op.create_index(
        op.f("ix_cluster_costs_tenant_id"), "cluster_costs", ["tenant_id"], unique=False
    )

    _install_security(app_role)


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_cluster_costs_tenant_id"), table_name="cluster_costs")
    op.drop_table("cluster_costs")
    op.drop_index(op.f("ix_instructions_tenant_id"), table_name="instructions")
    op.drop_index("ix_instructions_cluster_status", table_name="instructions")
    op.drop_table("instructions")
    op.drop_index(op.f("ix_usage_states_tenant_id"), table_name="usage_states")
    op.drop_table("usage_states")
    op.drop_index(op.f("ix_spot_notices_tenant_id"), table_name="spot_notices")
    op.drop_table("spot_notices")
    op.drop_index(op.f("ix_snapshots_tenant_id"), table_name="snapshots")
    op.drop_index(op.f("ix_snapshots_cluster_id"), table_name="snapshots")
    op.drop_table("snapshots")
    op.drop_index(op.f("ix_recommendations_tenant_id"), table_name="recommendations")
    op.drop_index("ix_recommendations_cluster_status", table_name="recommendations")
    op.drop_table("recommendations")
    op.drop_index(op.f("ix_inventory_objects_tenant_id"), table_name="inventory_objects")
    op.drop_table("inventory_objects")
    op.drop_index(op.f("ix_api_clients_tenant_id"), table_name="api_clients")
    op.drop_table("api_clients")
    op.drop_index(op.f("ix_users_tenant_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_clusters_tenant_id"), table_name="clusters")
    op.drop_table("clusters")
    op.drop_index(op.f("ix_audit_log_tenant_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("tenants")
    op.drop_index(op.f("ix_signing_keys_purpose"), table_name="signing_keys")
    op.drop_table("signing_keys")

    _drop_security(app_role)


TENANT_OWNED = (
    "clusters",
    "api_clients",
    "users",
    "snapshots",
    "inventory_objects",
    "usage_states",
    "spot_notices",
    "recommendations",
    "instructions",
    "audit_log",
    "cluster_costs",
)

_LOOKUPS = (
    """
CREATE FUNCTION slicewise_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$
    """,
    """
CREATE FUNCTION slicewise_find_api_client(p_client_id text)
    RETURNS TABLE (client_id text, tenant_id uuid, cluster_id uuid, secret_hash text,
                   scopes varchar[], revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT client_id, tenant_id, cluster_id, secret_hash, scopes, revoked_at
          FROM api_clients WHERE api_clients.client_id = p_client_id $$
    """,
    """
CREATE FUNCTION slicewise_find_user_by_email(p_email text)
    RETURNS TABLE (id uuid, tenant_id uuid, email varchar, role varchar, password_hash text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT id, tenant_id, email, role, password_hash
          FROM users WHERE lower(users.email) = lower(p_email) $$
    """,
    """
CREATE FUNCTION slicewise_find_user_by_oidc(p_issuer text, p_subject text)
    RETURNS TABLE (id uuid, tenant_id uuid, email varchar, role varchar)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT id, tenant_id, email, role FROM users
          WHERE users.oidc_issuer = p_issuer AND users.oidc_subject = p_subject $$
    """,
    """
CREATE FUNCTION slicewise_find_tenant(p_ref text)
    RETURNS TABLE (id uuid, name varchar)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT id, name FROM tenants
          WHERE tenants.name = p_ref OR tenants.id::text = lower(p_ref) $$
    """,
    """
CREATE FUNCTION slicewise_list_clusters()
    RETURNS TABLE (tenant_id uuid, cluster_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT tenant_id, id FROM clusters $$
    """,
)

_LOOKUP_SIGNATURES = (
    "slicewise_find_api_client(text)",
    "slicewise_find_user_by_email(text)",
    "slicewise_find_user_by_oidc(text, text)",
    "slicewise_find_tenant(text)",
    "slicewise_list_clusters()",
    "slicewise_current_tenant()",
)


def _install_security(app_role: str) -> None:
    # The tenants table is guarded on its own id; every other tenant-owned table on tenant_id.
    guarded = {"tenants": "id", **dict.fromkeys(TENANT_OWNED, "tenant_id")}
    for statement in _LOOKUPS:
        op.execute(statement)
    for table, column in guarded.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING ({column} = slicewise_current_tenant()) "
            f"WITH CHECK ({column} = slicewise_current_tenant())"
        )
    tables = ", ".join([*guarded, "signing_keys"])
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {app_role}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app_role}")
    for signature in _LOOKUP_SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app_role}")


def _drop_security(app_role: str) -> None:
    for signature in _LOOKUP_SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app_role}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app_role}")
