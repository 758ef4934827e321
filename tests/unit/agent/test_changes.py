"""Only inventory changes that matter call for an early snapshot."""

from __future__ import annotations

from agent.changes import Entry, is_significant
from protocol.resources import Resources
from protocol.snapshot import Container, Node, Pod, PodSpecSummary, Workload, WorkloadKind

SPEC = PodSpecSummary(containers=[Container(name="c")])


def _pod(node: str | None = None, rv: str = "1") -> Entry:
    return Entry(
        Pod(namespace="n", name="p", uid="u", resource_version=rv, node_name=node, spec=SPEC)
    )


def _node(rv: str = "1", unschedulable: bool = False) -> Entry:
    return Entry(
        Node(
            name="n1",
            uid="n",
            resource_version=rv,
            capacity=Resources(),
            allocatable=Resources(),
            unschedulable=unschedulable,
        )
    )


def _deployment(replicas: int = 3, ready: int = 3, rv: str = "1") -> Entry:
    return Entry(
        Workload(
            kind=WorkloadKind.DEPLOYMENT,
            namespace="n",
            name="d",
            uid="d",
            resource_version=rv,
            replicas=replicas,
            ready_replicas=ready,
            template=SPEC,
        )
    )


def test_node_added_and_removed_are_significant() -> None:
    """A node appearing or disappearing is significant."""
    assert is_significant("nodes", None, _node())
    assert is_significant("nodes", _node(), None)


def test_node_heartbeat_is_not_significant() -> None:
    """A new resourceVersion with nothing else changed is not."""
    assert not is_significant("nodes", _node("1"), _node("2"))


def test_node_cordon_is_significant() -> None:
    """Cordoning a node is."""
    assert is_significant("nodes", _node(), _node(unschedulable=True))


def test_pod_scheduled_is_significant() -> None:
    """A pod getting a node is; an unscheduled pod appearing is not."""
    assert is_significant("pods", _pod(None), _pod("n1"))
    assert not is_significant("pods", None, _pod(None))


def test_pod_deleted_is_significant() -> None:
    """A pod going away is."""
    assert is_significant("pods", _pod("n1"), None)


def test_pod_status_update_is_not_significant() -> None:
    """A running pod's status change on the same node is not."""
    assert not is_significant("pods", _pod("n1", "1"), _pod("n1", "2"))


def test_workload_spec_change_is_significant() -> None:
    """Scaling a Deployment is."""
    assert is_significant("workloads", _deployment(3), _deployment(5, rv="2"))


def test_workload_ready_count_is_not_significant() -> None:
    """Ready replicas moving during a rollout is not."""
    assert not is_significant("workloads", _deployment(3, 3), _deployment(3, 1, rv="2"))


def test_replicaset_churn_is_never_significant() -> None:
    """Owner links only serve chains."""
    assert not is_significant("owners", None, Entry(None))
