"""Tenant-scoped repositories: each takes a session opened by `Database.tenant()`."""
