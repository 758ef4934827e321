"""Fixtures that run a real kube-apiserver + etcd on loopback (ARCHITECTURE.md §3).

The first session on a machine may build kube-apiserver from Debian's sources (about five
minutes); later sessions reuse the cached binary. Every process started here is stopped at
teardown, also when tests fail, and teardown fails if one survives.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lightkube import Client

from devstack.kube import KubeApiServer, running_kube_apiserver


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[KubeApiServer]:
    """One etcd + kube-apiserver for the whole session."""
    with running_kube_apiserver() as server:
        yield server


@pytest.fixture
def admin_kube_client(kube_apiserver: KubeApiServer) -> Iterator[Client]:
    """A lightkube ``Client`` acting as cluster admin, closed after the test."""
    with kube_apiserver.admin_client() as client:
        yield client
