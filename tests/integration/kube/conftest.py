"""Fixtures that run the local control plane on loopback (ARCHITECTURE.md §3).

`kube_apiserver` is etcd + kube-apiserver alone; `control_plane` adds kube-scheduler,
kube-controller-manager and the node keeper. The first session on a machine may build the
binaries from Debian's sources (several minutes); later sessions reuse the cache. Every process
started here is stopped at teardown, also when tests fail, and teardown fails if one survives.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lightkube import Client

from devstack.kube import KubeApiServer, running_kube_apiserver
from devstack.kube.control_plane import KubeControlPlane, running_control_plane
from devstack.kube.node_keeper import NodeKeeper


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


@pytest.fixture(scope="session")
def control_plane() -> Iterator[KubeControlPlane]:
    """One cluster-shaped control plane, with its node keeper, for the whole session."""
    with running_control_plane() as plane, NodeKeeper(plane.admin):
        yield plane


@pytest.fixture
def cluster(control_plane: KubeControlPlane) -> Iterator[Client]:
    """An admin ``Client`` of the control plane, closed after the test."""
    with control_plane.admin_client() as client:
        yield client
