"""The kube-apiserver harness acts like a real cluster's API: CRUD, RBAC, watch resume, cleanup."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from lightkube import ApiError, Client
from lightkube.core.client import LabelSelector
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Node, Pod
from lightkube.types import OnErrorAction, OnErrorResult

from devstack.kube import KubeApiServer, live_processes_of, running_kube_apiserver

pytestmark = pytest.mark.kube

NAMESPACE = "default"

T = TypeVar("T")


@contextmanager
def _closing(events: Iterator[T]) -> Iterator[Iterator[T]]:
    """Close a watch generator on exit, so its HTTP stream is not left open."""
    try:
        yield events
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def _pod(name: str, labels: dict[str, str] | None = None) -> Pod:
    """A minimal Pod; nothing schedules it, it stays Pending."""
    return Pod(
        metadata=ObjectMeta(name=name, namespace=NAMESPACE, labels=labels),
        spec=PodSpec(containers=[Container(name="main", image="registry.invalid/none:0")]),
    )


def _name(prefix: str) -> str:
    """A name unique to this test run, so tests sharing the session server never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cleanup(admin_kube_client: Client) -> Iterator[list[tuple[type[Pod] | type[Node], str]]]:
    """Objects appended here are deleted after the test, pass or fail."""
    created: list[tuple[type[Pod] | type[Node], str]] = []
    yield created
    for kind, name in created:
        try:
            if kind is Pod:
                admin_kube_client.delete(Pod, name, namespace=NAMESPACE, grace_period=0)
            else:
                admin_kube_client.delete(Node, name)
        except ApiError as exc:
            if exc.status.code != 404:
                raise


def test_admin_creates_and_lists_nodes_and_pods(
    admin_kube_client: Client, cleanup: list[tuple[type[Pod] | type[Node], str]]
) -> None:
    """An admin can create a Node and a Pod and sees both when listing."""
    node_name, pod_name = _name("node"), _name("pod")
    admin_kube_client.create(Node(metadata=ObjectMeta(name=node_name)))
    cleanup.append((Node, node_name))
    created = admin_kube_client.create(_pod(pod_name))
    cleanup.append((Pod, pod_name))

    assert created.metadata is not None
    assert created.metadata.uid
    nodes = {n.metadata.name for n in admin_kube_client.list(Node) if n.metadata}
    pods = {p.metadata.name for p in admin_kube_client.list(Pod, namespace=NAMESPACE) if p.metadata}
    assert node_name in nodes
    assert pod_name in pods


def test_read_only_identity_lists_but_cannot_create(
    kube_apiserver: KubeApiServer,
    admin_kube_client: Client,
    cleanup: list[tuple[type[Pod] | type[Node], str]],
) -> None:
    """RBAC is enforced: list/watch on pods allows listing and watching, not creating."""
    existing = _name("seen")
    admin_kube_client.create(_pod(existing))
    cleanup.append((Pod, existing))
    identity = kube_apiserver.mint_identity(
        [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]
    )

    with identity.client() as client:
        with pytest.raises(ApiError) as refused:
            client.create(_pod(_name("denied")))
        assert refused.value.status.code == 403

        names = {p.metadata.name for p in client.list(Pod, namespace=NAMESPACE) if p.metadata}
        assert existing in names

        with pytest.raises(ApiError) as no_nodes:
            list(client.list(Node))
        assert no_nodes.value.status.code == 403

        watch = client.watch(
            Pod, namespace=NAMESPACE, fields={"metadata.name": existing}, server_timeout=5
        )
        with _closing(watch) as events:
            event, pod = next(events)
        assert event == "ADDED"
        assert pod.metadata is not None
        assert pod.metadata.name == existing


def test_watch_resumes_after_apiserver_restart(
    kube_apiserver: KubeApiServer,
    admin_kube_client: Client,
    cleanup: list[tuple[type[Pod] | type[Node], str]],
) -> None:
    """A watch broken by an API server restart resumes from its resourceVersion.

    The second pod is created after the restart but before the watcher reconnects, i.e. while
    the watcher is cut off: resuming from the last seen resourceVersion must deliver exactly
    that pod, not a replay of the first one.
    """
    run = _name("run")
    labels = {"slicewise-test-run": run}
    selector: LabelSelector = {"slicewise-test-run": run}
    first, second = _name("before"), _name("while-down")
    created_first = admin_kube_client.create(_pod(first, labels))
    cleanup.append((Pod, first))
    assert created_first.metadata is not None
    first_rv = created_first.metadata.resourceVersion
    assert first_rv

    errors: list[Exception] = []

    def retry_a_few_times(exc: Exception, count: int) -> OnErrorResult:
        # Reconnect (from the last resourceVersion) after the restart broke the stream, but
        # never loop forever if the server stays unreachable.
        errors.append(exc)
        return OnErrorResult(OnErrorAction.RAISE if count > 3 else OnErrorAction.RETRY)

    with kube_apiserver.admin_client() as watcher:
        watch = watcher.watch(Pod, namespace=NAMESPACE, labels=selector, on_error=retry_a_few_times)
        with _closing(watch) as events:
            event, pod = next(events)
            assert event == "ADDED"
            assert pod.metadata is not None
            assert pod.metadata.name == first

            kube_apiserver.restart_apiserver()
            created_second = admin_kube_client.create(_pod(second, labels))
            cleanup.append((Pod, second))

            event, pod = next(events)
    assert event == "ADDED"
    assert pod.metadata is not None
    assert pod.metadata.name == second, f"the watch replayed instead of resuming ({errors})"
    assert created_second.metadata is not None
    assert created_second.metadata.resourceVersion

    # The same, explicitly: a fresh watch from the first pod's resourceVersion sees only what
    # happened after it.
    watch = admin_kube_client.watch(
        Pod, namespace=NAMESPACE, labels=selector, resource_version=first_rv, server_timeout=5
    )
    with _closing(watch) as events:
        event, pod = next(events)
    assert (event, pod.metadata.name if pod.metadata else None) == ("ADDED", second)


def test_teardown_leaves_no_process_behind() -> None:
    """Stopping the harness ends etcd and kube-apiserver and removes their directory."""
    with running_kube_apiserver() as server:
        pids = server.pids()
        workdir = server.workdir
        assert len(pids) == 2
        assert len(live_processes_of(pids, workdir)) == 2
        with server.admin_client() as client:
            names = {ns.metadata.name for ns in client.list(Namespace) if ns.metadata}
            assert "default" in names

    assert live_processes_of(pids, workdir) == []
    assert not workdir.exists()
