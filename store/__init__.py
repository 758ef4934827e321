"""PostgreSQL storage: tables, migrations, tenant-scoped repositories and row-level security.

Tenant isolation is enforced by PostgreSQL itself: every tenant-owned table has a row-level
security policy on `current_setting('app.tenant_id')`, which `Database.tenant()` sets per
transaction, and the application connects as a role that cannot bypass those policies.
"""
