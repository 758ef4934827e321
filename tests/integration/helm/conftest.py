"""The kube-apiserver harness, shared with tests/integration/kube (ARCHITECTURE.md §3)."""

from __future__ import annotations

from tests.integration.kube.conftest import admin_kube_client, kube_apiserver

__all__ = ["admin_kube_client", "kube_apiserver"]
