"""Owner chains resolve through ReplicaSets and Jobs, checking uids."""

from __future__ import annotations

from agent.convert.owners import OwnerLink, resolve_owners
from protocol.snapshot import OwnerRef

RS = OwnerRef(kind="ReplicaSet", name="web-7d9f", uid="rs-1")
DEPLOY = OwnerRef(kind="Deployment", name="web", uid="dep-1")


def _links(*links: OwnerLink) -> dict[tuple[str, str, str], OwnerLink]:
    return {link.key: link for link in links}


def test_pod_resolves_to_replicaset_then_deployment() -> None:
    """Pod -> ReplicaSet -> Deployment, nearest first."""
    links = _links(OwnerLink("shop", "ReplicaSet", "web-7d9f", "rs-1", DEPLOY))
    assert resolve_owners("shop", [RS], links) == [RS, DEPLOY]


def test_job_resolves_to_cronjob() -> None:
    """Pod -> Job -> CronJob."""
    job = OwnerRef(kind="Job", name="nightly-2903", uid="job-1")
    cron = OwnerRef(kind="CronJob", name="nightly", uid="cron-1")
    links = _links(OwnerLink("ops", "Job", "nightly-2903", "job-1", cron))
    assert resolve_owners("ops", [job], links) == [job, cron]


def test_unknown_replicaset_stops_the_chain() -> None:
    """A ReplicaSet not (yet) seen leaves the chain at the direct owner."""
    assert resolve_owners("shop", [RS], {}) == [RS]


def test_recreated_replicaset_with_other_uid_is_not_followed() -> None:
    """Same name, different uid: a different object, not this pod's owner."""
    links = _links(OwnerLink("shop", "ReplicaSet", "web-7d9f", "rs-2", DEPLOY))
    assert resolve_owners("shop", [RS], links) == [RS]


def test_owner_in_other_namespace_is_not_followed() -> None:
    """Owner references are namespace-local."""
    links = _links(OwnerLink("other", "ReplicaSet", "web-7d9f", "rs-1", DEPLOY))
    assert resolve_owners("shop", [RS], links) == [RS]


def test_cycle_stops() -> None:
    """Bad references that loop do not loop forever."""
    a = OwnerRef(kind="ReplicaSet", name="a", uid="a")
    b = OwnerRef(kind="ReplicaSet", name="b", uid="b")
    links = _links(
        OwnerLink("n", "ReplicaSet", "a", "a", b), OwnerLink("n", "ReplicaSet", "b", "b", a)
    )
    assert resolve_owners("n", [a], links) == [a, b]


def test_bare_pod_has_no_owners() -> None:
    """A pod without a controller has an empty chain."""
    assert resolve_owners("n", [], {}) == []
