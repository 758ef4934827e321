"""The msgspec mirror of a wire model accepts nothing the model refuses, and all it produces.

The differential test takes a snapshot with every optional field set and, at every position in
it, substitutes wrong types, values on both sides of every bound the contracts use, strings of
those lengths in one- and multi-byte characters, lists and maps of those sizes, values nested around
the mirror's and the parser's depth limits, unusual UUID and datetime spellings, deleted fields
and unknown fields. For each variant pydantic (the authority)
and the mirror decide; the mirror may never accept what pydantic refuses.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from gateway.problems import Problem
from gateway.struct_mirror import JSON_DEPTH, MirrorUnsupportedError, mirror_struct
from gateway.validation import MirroredValidator
from protocol.base import WireModel
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.spot import SpotNotice
from protocol.usage_grid import MAX_CPU_STEP, MAX_GPU_MEMORY_STEP, MAX_MEMORY_STEP

Path = tuple[str | int, ...]

SNAPSHOT_ID = uuid.UUID("7f0b5a3e-8c1d-4d2e-9f10-2a3b4c5d6e7f")
CLUSTER_ID = uuid.UUID("0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b6")
WHEN = "2026-11-23T04:00:00Z"
RESOURCES = {"cpu_millis": 500, "memory_bytes": 1 << 30, "extended": {"nvidia.com/gpu": 1}}
CONTAINER = {
    "name": "main",
    "image": "registry.example/app:1",
    "requests": RESOURCES,
    "limits": RESOURCES,
    "restarts": 2,
    "last_termination_reason": "OOMKilled",
    "last_oom_kill_at": WHEN,
}
POD_SPEC = {
    "containers": [CONTAINER],
    "node_selector": {"pool": "gpu"},
    "tolerations": [
        {
            "key": "nvidia.com/gpu",
            "operator": "Equal",
            "value": "present",
            "effect": "NoSchedule",
            "toleration_seconds": 30,
        }
    ],
    "affinity": {"nodeAffinity": {"required": [{"key": "zone", "values": ["a", "b"]}]}},
    "topology_spread_constraints": [{"maxSkew": 1, "topologyKey": "zone"}],
    "priority_class": "high",
    "termination_grace_seconds": 30,
    "uses_local_storage": True,
}
FULL_SNAPSHOT: dict[str, Any] = {
    "schema_version": "1",
    "snapshot_id": str(SNAPSHOT_ID),
    "cluster": {
        "cluster_id": str(CLUSTER_ID),
        "name": "prod",
        "provider": "aws",
        "region": "us-east-1",
        "kubernetes_version": "v1.30.2",
    },
    "taken_at": WHEN,
    "agent_version": "1.0.0",
    "nodes": [
        {
            "name": "gpu-1",
            "uid": "n-uid",
            "resource_version": "12",
            "labels": {"topology.kubernetes.io/zone": "us-east-1a"},
            "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
            "capacity": RESOURCES,
            "allocatable": RESOURCES,
            "unschedulable": False,
            "ready": True,
            "provider_id": "aws:///us-east-1a/i-0abc",
            "gpu": {
                "product": "NVIDIA-A100-SXM4-40GB",
                "count": 8,
                "memory_mib": 40960,
                "mig_config": "all-1g.5gb",
                "mig_config_state": "success",
                "sharing_config": "time-slicing",
            },
            "created_at": WHEN,
        }
    ],
    "pods": [
        {
            "namespace": "ml",
            "name": "train-0",
            "uid": "p-uid",
            "resource_version": "13",
            "labels": {"app": "train"},
            "node_name": "gpu-1",
            "phase": "Running",
            "qos_class": "Guaranteed",
            "owners": [{"kind": "ReplicaSet", "name": "train-abc", "uid": "rs-uid"}],
            "spec": POD_SPEC,
            "ready": True,
            "started_at": WHEN,
        }
    ],
    "workloads": [
        {
            "kind": "Deployment",
            "namespace": "ml",
            "name": "train",
            "uid": "w-uid",
            "resource_version": "14",
            "labels": {"app": "train"},
            "annotations": {"slicewise.io/spot": "allow"},
            "replicas": 2,
            "ready_replicas": 2,
            "strategy": {"type": "RollingUpdate", "max_unavailable": 1, "max_surge": "25%"},
            "selector": {"app": "train"},
            "template_labels": {"app": "train"},
            "template": POD_SPEC,
            "min_ready_seconds": 5,
        }
    ],
    "pdbs": [
        {
            "namespace": "ml",
            "name": "train",
            "uid": "pdb-uid",
            "resource_version": "15",
            "selector": {"app": "train"},
            "min_available": 1,
            "max_unavailable": "50%",
            "current_healthy": 2,
            "desired_healthy": 1,
            "disruptions_allowed": 1,
            "expected_pods": 2,
        }
    ],
    "hpas": [
        {
            "namespace": "ml",
            "name": "train",
            "target_kind": "Deployment",
            "target_name": "train",
            "min_replicas": 1,
            "max_replicas": 4,
            "current_replicas": 2,
            "desired_replicas": 2,
            "metrics": [
                {"type": "Resource", "name": "cpu", "target_utilization": 80, "target_value": "1"}
            ],
        }
    ],
    "usage": {
        "containers": [
            {
                "namespace": "ml",
                "pod": "train-0",
                "container": "main",
                "timestamp": WHEN,
                "window_seconds": 60,
                "cpu_cores": 0.25,
                "memory_bytes": 1 << 29,
                "cpu_throttled_fraction": 0.1,
            }
        ],
        "nodes": [{"node": "gpu-1", "timestamp": WHEN, "cpu_cores": 3.5, "memory_bytes": 1 << 33}],
        "gpus": [
            {
                "node": "gpu-1",
                "gpu_index": 0,
                "gpu_uuid": "GPU-1234",
                "mig_profile": "1g.5gb",
                "namespace": "ml",
                "pod": "train-0",
                "container": "main",
                "timestamp": WHEN,
                "utilization": 0.5,
                "memory_used_bytes": 1 << 30,
                "memory_total_bytes": 5 << 30,
            }
        ],
    },
    "notes": ["metrics.k8s.io not served"],
}

# Every bound the contracts declare, and a few beyond: lengths of strings, lists and maps, and
# numeric limits; each is tried exactly, one below and one above.
LENGTHS = (1, 8, 16, 32, 63, 64, 128, 253, 317, 512, 1024, 4096)
NUMBERS = (0, 1, 64, 4096, 86_400, 2**63)
ITEM_COUNTS = (1, 8, 16, 32, 64, 128)
DEPTHS = (JSON_DEPTH - 1, JSON_DEPTH, JSON_DEPTH + 1, 190, 195, 200)
"""Nesting around the mirror's bound for free-form JSON and around the parser's 200 levels."""
ODD_UUIDS = (
    "urn:uuid:7f0b5a3e-8c1d-4d2e-9f10-2a3b4c5d6e7f",
    "{7f0b5a3e-8c1d-4d2e-9f10-2a3b4c5d6e7f}",
    "7f0b5a3e8c1d4d2e9f102a3b4c5d6e7f",
    "7F0B5A3E-8C1D-4D2E-9F10-2A3B4C5D6E7F",
    "7f0b5a3e-8c1d-4d2e-9f10-2a3b4c5d6e7",
    "7f0b5a3e-8c1d-4d2e-9f10-2a3b4c5d6e7g",
)
ODD_DATETIMES = (
    "2026-11-23T04:00:00",
    "2026-11-23T04:00Z",
    "2026-11-23t04:00:00z",
    "2026-11-23 04:00:00+01:00",
    "2026-11-23T04:00:00.123456789-05:30",
    "2026-11-23T04:00:00+0100",
    "2026-11-23T04:00:00+01",
    "2026-02-29T04:00:00Z",
    "2026-11-23T24:00:00Z",
    "2026-11-23T04:00:60Z",
    "2026-11-23",
    "1700000000",
)
DELETED = object()
ODD_SPELLINGS = {repr(v) for v in (*ODD_UUIDS, *ODD_DATETIMES, "1", float("inf"), float("nan"))}
"""Spellings pydantic reads and the mirror does not (a numeric string is a Unix time to it)."""
SCALARS: tuple[Any, ...] = (
    None,
    True,
    False,
    -1,
    0.5,
    1.0,
    -0.0,
    float("inf"),
    float("nan"),
    "",
    "x",
    "1",
    "true",
    [],
    {},
    [None],
    {"unknown": 1},
    *ODD_UUIDS,
    *ODD_DATETIMES,
)


def _nodes(doc: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _nodes(value, (*path, index))


def _replaced(doc: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    changed = copy.copy(doc)
    changed[path[0]] = _replaced(doc[path[0]], path[1:], value)
    return changed


def _without(doc: Any, path: Path) -> Any:
    parent = path[:-1]
    container: Any = doc
    for step in parent:
        container = container[step]
    smaller = copy.copy(container)
    del smaller[path[-1]]
    return _replaced(doc, parent, smaller)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def _substitutes(value: Any) -> Iterator[Any]:
    yield from SCALARS
    for depth in DEPTHS:
        yield _nested(depth)
    if isinstance(value, str):
        for length in LENGTHS:
            for size in (length - 1, length, length + 1):
                yield "a" * size
                yield "é" * size
                yield "𝄞" * size
    if isinstance(value, int | float) and not isinstance(value, bool):
        for bound in NUMBERS:
            yield from (bound - 1, bound, bound + 1, -bound, bound - 0.5, bound + 0.5)
            yield from (float(bound), float(bound) + 1e-9)
    if isinstance(value, list) and value:
        for count in ITEM_COUNTS:
            yield from ([value[0]] * count, [value[0]] * (count + 1))
    if isinstance(value, dict):
        yield {**value, "unknown_field": "x"}
        for count in ITEM_COUNTS:
            yield {f"k{i}": "v" for i in range(count + 1)}
        for length in (317, 318):
            yield {"k" * length: "v"}
        yield {"": "v"}


def _variants() -> Iterator[tuple[str, Any, bytes]]:
    """(where, what was put there or DELETED, the whole body)."""
    for path, value in _nodes(FULL_SNAPSHOT):
        if path:
            yield str(path), DELETED, json.dumps(_without(FULL_SNAPSHOT, path)).encode()
        for substitute in _substitutes(value):
            body = json.dumps(_replaced(FULL_SNAPSHOT, path, substitute)).encode()
            yield str(path), substitute, body


def _pydantic_accepts(body: bytes) -> bool:
    try:
        ClusterSnapshot.model_validate_json(body, strict=True)
    except ValidationError:
        return False
    return True


def _mirror_accepts(decoder: msgspec.json.Decoder[Any], body: bytes) -> bool:
    try:
        decoder.decode(body)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return False
    return True


def test_full_snapshot_is_valid_and_mirrored_field_for_field() -> None:
    """Every field set: both accept, and the mirror holds the same values as the model."""
    body = json.dumps(FULL_SNAPSHOT).encode()
    model = ClusterSnapshot.model_validate_json(body, strict=True)
    mirrored = msgspec.json.decode(body, type=mirror_struct(ClusterSnapshot))
    assert json.loads(msgspec.json.encode(mirrored)) == json.loads(model.model_dump_json())


def test_defaults_are_the_models_defaults() -> None:
    """Omitted optional fields decode to the model's defaults."""
    minimal = {
        "snapshot_id": str(SNAPSHOT_ID),
        "cluster": {"cluster_id": str(CLUSTER_ID), "name": "prod"},
        "taken_at": WHEN,
    }
    body = json.dumps(minimal).encode()
    model = ClusterSnapshot.model_validate_json(body, strict=True)
    mirrored = msgspec.json.decode(body, type=mirror_struct(ClusterSnapshot))
    assert json.loads(msgspec.json.encode(mirrored)) == json.loads(model.model_dump_json())


def test_mirror_never_accepts_what_the_model_refuses() -> None:
    """Over 20,000 variants: mirror accepts => pydantic accepts; they differ only on oddities."""
    decoder = msgspec.json.Decoder(mirror_struct(ClusterSnapshot))
    looser: list[str] = []
    stricter: set[str] = set()
    verdicts = {True: 0, False: 0}
    for where, substitute, body in _variants():
        by_model, by_mirror = _pydantic_accepts(body), _mirror_accepts(decoder, body)
        verdicts[by_model] += 1
        if by_mirror and not by_model:
            looser.append(f"{where} = {substitute!r:.80}")
        elif by_model and not by_mirror:
            stricter.add(repr(substitute))
    assert not looser, f"{len(looser)} accepted by the mirror only: {looser[:10]}"
    assert verdicts[False] > 10_000
    assert verdicts[True] > 1_000
    # Where only pydantic accepts, it is a spelling the agent never sends, or free-form JSON
    # nested deeper than the mirror reads; pydantic decides those.
    expected = ODD_SPELLINGS | {repr(_nested(depth)) for depth in DEPTHS}
    assert stricter <= expected, sorted(stricter - expected)


def test_validator_uses_the_mirror_and_keeps_the_same_fields() -> None:
    """A valid body: kept fields as pydantic would give them."""
    body = json.dumps(FULL_SNAPSHOT).encode()
    checked = MirroredValidator(ClusterSnapshot).validate(
        body, lambda s: (s.snapshot_id, s.cluster.cluster_id, s.taken_at)
    )
    model = ClusterSnapshot.model_validate_json(body)
    assert checked.by == "mirror"
    assert checked.kept == (model.snapshot_id, model.cluster.cluster_id, model.taken_at)


def test_a_repeated_key_means_its_last_value_for_both() -> None:
    """The ids the gateway keeps (dedupe, topic key) are the ones the workers will read."""
    other = uuid.UUID("11111111-2222-4333-8444-555555555555")
    text = json.dumps(FULL_SNAPSHOT)
    first = f'"snapshot_id": "{SNAPSHOT_ID}"'
    body = text.replace(first, f'"snapshot_id": "{other}", {first}', 1).encode()
    checked = MirroredValidator(ClusterSnapshot).validate(body, lambda s: s.snapshot_id)
    model = ClusterSnapshot.model_validate_json(body, strict=True)
    assert (checked.kept, checked.by) == (model.snapshot_id, "mirror")
    assert checked.kept == SNAPSHOT_ID


def test_spelling_only_pydantic_reads_is_still_accepted() -> None:
    """A UUID as a URN: the mirror refuses it, pydantic accepts it, so the body is accepted."""
    body = json.dumps({**FULL_SNAPSHOT, "snapshot_id": f"urn:uuid:{SNAPSHOT_ID}"}).encode()
    checked = MirroredValidator(ClusterSnapshot).validate(body, lambda s: s.snapshot_id)
    assert (checked.kept, checked.by) == (SNAPSHOT_ID, "model")


def test_invalid_body_is_a_422_naming_the_field() -> None:
    """Refused by both: the 422 names the field as pydantic does."""
    pods = [{**FULL_SNAPSHOT["pods"][0], "name": ""}]
    body = json.dumps({**FULL_SNAPSHOT, "pods": pods}).encode()
    with pytest.raises(Problem) as refused:
        MirroredValidator(ClusterSnapshot).validate(body, lambda s: s.snapshot_id)
    assert refused.value.status == 422
    assert [p.name for p in refused.value.invalid_params or []] == ["pods.0.name"]


def test_json_nested_beyond_any_parser_is_a_422() -> None:
    """100,000 levels in a free-form field: refused with a 422, not a crash of the decoder."""
    depth = 100_000
    marker = '"affinity": {"m": null}'
    pod = {**FULL_SNAPSHOT["pods"][0], "spec": {**POD_SPEC, "affinity": {"m": None}}}
    body = json.dumps({**FULL_SNAPSHOT, "pods": [pod]})
    assert marker in body
    deep = body.replace(marker, f'"affinity": {{"m": {"[" * depth}{"]" * depth}}}').encode()
    with pytest.raises(Problem) as refused:
        MirroredValidator(ClusterSnapshot).validate(deep, lambda s: s.snapshot_id)
    assert refused.value.status == 422


def test_spot_notice_is_mirrored() -> None:
    """The other ingest contract translates too."""
    assert issubclass(mirror_struct(SpotNotice), msgspec.Struct)


class _Validated(WireModel):
    name: str

    @field_validator("name")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class _Patterned(WireModel):
    nonce: Annotated[str, Field(pattern=r"^[0-9a-f]+$")]


class _Stripped(WireModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True)]


class _Aliased(WireModel):
    name: str = Field(alias="Name")


class _A(WireModel):
    a: int


class _B(WireModel):
    b: int


class _UnionOfModels(WireModel):
    either: _A | _B


class _Decimal(WireModel):
    amount: Decimal


class _Variadic(WireModel):
    items: tuple[int, ...]


class _AllowsExtra(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


class _Coercing(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str


@pytest.mark.parametrize(
    "model",
    [
        _Validated,
        _Patterned,
        _Stripped,
        _Aliased,
        _UnionOfModels,
        _Decimal,
        _Variadic,
        _AllowsExtra,
        _Coercing,
    ],
)
def test_what_cannot_be_mirrored_exactly_is_refused_when_built(model: type[BaseModel]) -> None:
    """Validators, patterns, transformations, aliases, model unions, tuples of any length,
    other types, options."""
    with pytest.raises(MirrorUnsupportedError, match=model.__name__):
        mirror_struct(model)


class _Bounded(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=5)
    plain: str = ""
    keyed: dict[str, int] = Field(default_factory=dict)
    own: Annotated[str, Field(max_length=8)] = ""


@pytest.mark.parametrize(
    "body",
    [b'{"plain": "abcdef"}', b'{"keyed": {"abcdef": 1}}', b'{"own": "abcdef"}'],
)
def test_model_wide_string_bound_is_mirrored(body: bytes) -> None:
    """`str_max_length` bounds plain strings and map keys; the mirror holds the tighter bound."""
    with pytest.raises(msgspec.ValidationError, match="length <= 5"):
        msgspec.json.decode(body, type=mirror_struct(_Bounded))


FULL_DELTA: dict[str, Any] = {
    **{
        key: FULL_SNAPSHOT[key]
        for key in ("cluster", "taken_at", "agent_version", "nodes", "pods", "workloads")
    },
    **{key: FULL_SNAPSHOT[key] for key in ("pdbs", "hpas", "usage", "notes")},
    "schema_version": "2",
    "delta_id": str(SNAPSHOT_ID),
    "base_sequence": 1_733_360_000_000,
    "sequence": 1_733_360_000_001,
    "deleted": [
        {"kind": "Pod", "namespace": "ml", "name": "old-0", "uid": "u", "resource_version": "9"}
    ],
    "container_series": [
        {
            "namespace": "ml",
            "pod": "train-0",
            "container": "main",
            "window_seconds": 60,
            "samples": [[1_733_360_000.5, 0.25, 1 << 30, None], [1_733_360_060.0, 4096.0, 0, 1.0]],
        }
    ],
    "gpu_series": [
        {
            "node": "gpu-a",
            "gpu_index": 1,
            "gpu_uuid": "GPU-1",
            "mig_profile": "1g.10gb",
            "namespace": "ml",
            "pod": "train-0",
            "container": "main",
            "samples": [[1_733_360_000.5, 0.5, 1 << 30, 80 << 30], [1_733_360_060.0, 1.0, 0, None]],
        }
    ],
    "compact_usage": {
        "version": "1",
        "times": [1_733_360_000.5, 1_733_360_060.0],
        "strings": ["ml", "train-0", "main", "gpu-a"],
        "devices": [
            {
                "node": 3,
                "gpu_index": 1,
                "mig_profile": "1g.10gb",
                "memory_total_bytes": 80 << 30,
            }
        ],
        "containers": {
            "series_namespace": [0],
            "series_pod": [1],
            "series_container": [2],
            "series_window_seconds": [60],
            "series_length": [2],
            "time": [0, 1],
            "cpu_millicores": [250, 4_096_000],
            "memory_mib": [1024, 0],
            "throttled_permille": [None, 1000],
        },
        "gpus": {
            "series_device": [0],
            "series_namespace": [0],
            "series_pod": [1],
            "series_container": [2],
            "series_length": [2],
            "time": [0, 1],
            "duty_permille": [500, 1000],
            "memory_used_mib": [1024, 0],
        },
    },
    "ordinal_usage": {
        "version": "1",
        "order": "0123abcd",
        "times": [1_733_360_000.5, 1_733_360_060.0],
        "containers": {
            "series_slot_step": [1, 0],
            "series_window_seconds": [60],
            "series_length": [1, 1],
            "time": [0, 1],
            "cpu_step": [0, MAX_CPU_STEP],
            "memory_step": [MAX_MEMORY_STEP, 3],
            "throttled_permille": [None, 1000],
        },
        "gpus": {
            "series_slot_step": [2],
            "series_gpu_index": [1],
            "series_mig_profile": ["1g.10gb"],
            "series_memory_total_mib": [None],
            "series_same_device_as": [0],
            "series_length": [2],
            "time": [0],
            "duty_percent": [0, 100],
            "memory_used_step": [MAX_GPU_MEMORY_STEP, 0],
        },
    },
}
DELTA_FIELDS = (
    "schema_version",
    "delta_id",
    "base_sequence",
    "sequence",
    "deleted",
    "container_series",
    "gpu_series",
    "compact_usage",
    "ordinal_usage",
)


def test_delta_mirror_never_accepts_what_the_model_refuses() -> None:
    """Every variant of a delta's own fields: mirror accepts => pydantic accepts."""
    decoder = msgspec.json.Decoder(mirror_struct(ClusterDelta))
    looser: list[str] = []
    refused = 0
    for path, value in _nodes(FULL_DELTA):
        if not path or path[0] not in DELTA_FIELDS:
            continue
        bodies = [json.dumps(_without(FULL_DELTA, path)).encode()]
        bodies += [
            json.dumps(_replaced(FULL_DELTA, path, substitute)).encode()
            for substitute in _substitutes(value)
        ]
        for body in bodies:
            try:
                ClusterDelta.model_validate_json(body, strict=True)
            except ValidationError:
                refused += 1
                if _mirror_accepts(decoder, body):
                    looser.append(f"{path}: {body[:80]!r}")
    assert not looser, looser[:10]
    assert refused > 500


def test_full_delta_is_valid_and_mirrored_field_for_field() -> None:
    """Every field set: both accept, and the mirror holds the same values as the model."""
    body = json.dumps(FULL_DELTA).encode()
    model = ClusterDelta.model_validate_json(body, strict=True)
    mirrored = msgspec.json.decode(body, type=mirror_struct(ClusterDelta))
    assert json.loads(msgspec.json.encode(mirrored)) == json.loads(model.model_dump_json())
