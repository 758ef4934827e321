"""Spot readiness of workloads, with reasons and the annotation override."""

from __future__ import annotations

from protocol.snapshot import ANNOTATION_SPOT_OPT, WorkloadKind
from recommender.inventory import Inventory
from recommender.spot.policy import SpotPolicy
from recommender.spot.readiness import NotReadyReason, assess_readiness
from tests.unit.recommender.factories import pdb, spec, workload
from tests.unit.recommender.spot.scenario import spot_cluster

POLICY = SpotPolicy()


def _judge(**kwargs: object) -> tuple[bool, tuple[NotReadyReason, ...]]:
    budgets = kwargs.pop("budgets", None)
    kwargs.setdefault("replicas", 6)
    web = workload("web", **kwargs)  # type: ignore[arg-type]
    snap = spot_cluster(web, budgets)  # type: ignore[arg-type]
    verdict = assess_readiness(web, Inventory.build(snap), POLICY)
    return verdict.ready, verdict.reasons


def test_stateless_deployment_with_room_in_its_pdb_is_ready() -> None:
    """Six replicas, min 4 available: ready, no reasons."""
    assert _judge(replicas=6) == (True, ())


def test_single_replica_is_not_ready() -> None:
    """One replica leaves nothing serving during a reclaim."""
    assert _judge(replicas=1, budgets=[]) == (False, (NotReadyReason.SINGLE_REPLICA,))


def test_pdb_allowing_no_disruption_is_too_tight() -> None:
    """minAvailable equal to replicas allows no eviction."""
    assert _judge(replicas=3, budgets=[pdb("web", "web", min_available=3)]) == (
        False,
        (NotReadyReason.PDB_TOO_TIGHT,),
    )


def test_local_storage_is_not_ready() -> None:
    """emptyDir or hostPath data would be lost."""
    assert _judge(template=spec(uses_local_storage=True)) == (
        False,
        (NotReadyReason.LOCAL_STORAGE,),
    )


def test_statefulset_without_local_storage_is_ready() -> None:
    """A StatefulSet is judged like a Deployment; its placement keeps an on-demand floor."""
    assert _judge(kind=WorkloadKind.STATEFUL_SET) == (True, ())


def test_long_termination_grace_is_not_ready() -> None:
    """A 300-second grace cannot finish within a two-minute notice."""
    assert _judge(template=spec(termination_grace_seconds=300)) == (
        False,
        (NotReadyReason.LONG_TERMINATION_GRACE,),
    )


def test_slow_start_is_not_ready() -> None:
    """minReadySeconds of ten minutes means replacements serve too late."""
    assert _judge(min_ready_seconds=600) == (False, (NotReadyReason.SLOW_START,))


def test_allow_annotation_overrides_reasons_but_keeps_them_visible() -> None:
    """`slicewise.io/spot: allow` makes a single replica ready, still listing why it was not."""
    ready, reasons = _judge(replicas=1, budgets=[], annotations={ANNOTATION_SPOT_OPT: "allow"})
    assert ready
    assert reasons == (NotReadyReason.SINGLE_REPLICA,)


def test_deny_annotation_opts_out() -> None:
    """`slicewise.io/spot: deny` keeps an otherwise ready workload off spot."""
    assert _judge(annotations={ANNOTATION_SPOT_OPT: "deny"}) == (False, (NotReadyReason.OPTED_OUT,))


def test_daemonset_stays_unsupported_even_when_allowed() -> None:
    """The annotation cannot make a DaemonSet placeable."""
    ready, reasons = _judge(
        kind=WorkloadKind.DAEMON_SET,
        replicas=None,
        annotations={ANNOTATION_SPOT_OPT: "allow"},
        budgets=[],
    )
    assert not ready
    assert NotReadyReason.UNSUPPORTED_KIND in reasons
