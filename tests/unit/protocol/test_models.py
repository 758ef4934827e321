"""Wire models are strict and bounded; canonical JSON and quantities are exact."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from protocol.canonical import canonical_json
from protocol.changes import ChangeSet, Cordon, LabelNode
from protocol.delta import ClusterDelta, DeletedObject, ObjectKind
from protocol.quantity import QuantityError, cpu_millis, format_cpu, format_memory, memory_bytes
from protocol.resources import Resources
from protocol.snapshot import ClusterInfo, ClusterSnapshot, Container, PodSpecSummary


def _snapshot(**extra: object) -> dict[str, object]:
    return {
        "snapshot_id": str(uuid.uuid4()),
        "cluster": {"cluster_id": str(uuid.uuid4()), "name": "prod"},
        "taken_at": "2026-01-01T00:00:00Z",
        **extra,
    }


def test_unknown_field_is_rejected() -> None:
    """A field the contract does not know is an error, not silently dropped."""
    with pytest.raises(ValidationError, match="extra_forbidden"):
        ClusterSnapshot.model_validate(_snapshot(surprise=1))


def test_naive_timestamp_is_rejected() -> None:
    """Timestamps must carry a timezone."""
    with pytest.raises(ValidationError, match="timezone"):
        ClusterSnapshot.model_validate({**_snapshot(), "taken_at": "2026-01-01T00:00:00"})


def test_label_count_is_bounded() -> None:
    """More than 128 labels on a node is refused."""
    node = {
        "name": "n",
        "uid": "u",
        "labels": {f"k{i}": "v" for i in range(129)},
        "capacity": {},
        "allocatable": {},
    }
    with pytest.raises(ValidationError, match="labels"):
        ClusterSnapshot.model_validate(_snapshot(nodes=[node]))


def test_action_union_is_discriminated_by_type() -> None:
    """A change set parses each action into its own model by `type`."""
    parsed = ChangeSet.model_validate(
        {
            "actions": [
                {"type": "cordon", "node": "a"},
                {
                    "type": "label_node",
                    "node": "a",
                    "labels": {"nvidia.com/mig.config": "all-1g.10gb"},
                },
            ]
        }
    )
    assert isinstance(parsed.actions[0], Cordon)
    assert isinstance(parsed.actions[1], LabelNode)


def test_canonical_json_is_sorted_and_compact() -> None:
    """Canonical bytes sort keys and drop white space, independent of field order."""
    info = ClusterInfo(cluster_id=uuid.UUID(int=1), name="é")
    assert canonical_json(info) == (
        b'{"cluster_id":"00000000-0000-0000-0000-000000000001","kubernetes_version":null,'
        b'"name":"\xc3\xa9","provider":"other","region":null}'
    )


def test_canonical_json_refuses_nan() -> None:
    """NaN has no canonical form."""
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": float("nan")})


@pytest.mark.parametrize(
    ("text", "millis"), [("250m", 250), ("2", 2000), ("1.5", 1500), ("100u", 1), ("0", 0)]
)
def test_cpu_quantities(text: str, millis: int) -> None:
    """CPU quantities become millicores, rounded up."""
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "num_bytes"), [("1Gi", 2**30), ("512Mi", 2**29), ("1G", 10**9), ("1e3", 1000)]
)
def test_memory_quantities(text: str, num_bytes: int) -> None:
    """Memory quantities become bytes."""
    assert memory_bytes(text) == num_bytes


def test_bad_quantity_is_an_error() -> None:
    """Garbage is not a quantity."""
    with pytest.raises(QuantityError):
        cpu_millis("lots")


def test_quantity_formatting_round_trips() -> None:
    """Formatted quantities parse back to the same integers."""
    assert format_cpu(1500) == "1500m"
    assert format_cpu(2000) == "2"
    assert memory_bytes(format_memory(3 * 2**30)) == 3 * 2**30
    assert format_memory(1000) == "1000"


def test_resources_expose_gpu_and_mig() -> None:
    """GPU and MIG counts are read from extended resources."""
    res = Resources(extended={"nvidia.com/gpu": 2, "nvidia.com/mig-1g.10gb": 3})
    assert res.gpus == 2
    assert res.mig_slices == {"1g.10gb": 3}


def test_models_are_frozen() -> None:
    """Wire models cannot be mutated after validation."""
    spec = PodSpecSummary(containers=[Container(name="c")])
    with pytest.raises(ValidationError, match="frozen"):
        spec.termination_grace_seconds = 5  # type: ignore[misc]


def _delta(base_sequence: int) -> dict[str, object]:
    return {
        "delta_id": str(uuid.uuid4()),
        "cluster": {"cluster_id": str(uuid.uuid4()), "name": "prod"},
        "taken_at": "2026-12-05T01:00:00Z",
        "base_sequence": base_sequence,
        "sequence": base_sequence + 1,
    }


def test_delta_sequence_numbers_fit_a_bigint() -> None:
    """A sequence past 2**63 - 1 is refused: the workers store it as a PostgreSQL bigint."""
    assert ClusterDelta.model_validate(_delta(2**63 - 2)).sequence == 2**63 - 1
    with pytest.raises(ValidationError):
        ClusterDelta.model_validate(_delta(2**63 - 1))


def test_deleted_object_kinds_are_the_inventory_kinds() -> None:
    """Deletions name objects by the kinds the stored inventory uses."""
    deleted = DeletedObject.model_validate({"kind": "Deployment", "namespace": "a", "name": "b"})
    assert deleted.kind is ObjectKind.DEPLOYMENT
    with pytest.raises(ValidationError):
        DeletedObject.model_validate({"kind": "ReplicaSet", "namespace": "a", "name": "b"})
