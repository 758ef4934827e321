"""Where the trace's anonymous machines would run on AWS: instance type, zone, capacity type.

The trace names GPU models (and two anonymised ones) but no cloud; the demo cluster is priced as
if each node were the AWS instance type with the same GPU model (or its nearest generation) and
at least as many GPUs, so the console shows real list prices and spot advisor data.
"""

from __future__ import annotations

import hashlib

REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")

_INSTANCE_TYPES: dict[str, tuple[tuple[int, str], ...]] = {
    # (GPUs at most, instance type), smallest first.
    "T4": ((1, "g4dn.xlarge"), (4, "g4dn.12xlarge")),
    "A10": ((1, "g5.16xlarge"), (4, "g5.24xlarge"), (8, "g5.48xlarge")),
    "V100M16": ((1, "p3.2xlarge"), (4, "p3.8xlarge"), (8, "p3.16xlarge")),
    "V100M32": ((1, "p3.2xlarge"), (4, "p3.8xlarge"), (8, "p3.16xlarge")),
    "P100": ((1, "p2.xlarge"), (8, "p2.8xlarge"), (16, "p2.16xlarge")),
    # The anonymised 8-GPU models: an A10G and an L4 machine of the same size.
    "G2": ((8, "g5.48xlarge"),),
    "G3": ((8, "g6.48xlarge"),),
}


def instance_type_for(model: str, gpus: int) -> str | None:
    """The AWS instance type a trace node is priced as; None for a model without one."""
    for most, name in _INSTANCE_TYPES.get(model, ()):
        if gpus <= most:
            return name
    return None


def _bucket(name: str, salt: str, buckets: int) -> int:
    digest = hashlib.sha256(f"{salt}/{name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % buckets


def zone_for(node_name: str) -> str:
    """A zone, spread evenly and stably by node name."""
    return ZONES[_bucket(node_name, "zone", len(ZONES))]


def is_spot(node_name: str, share: float) -> bool:
    """Whether a node is spot capacity: a stable `share` of nodes, chosen by name."""
    return _bucket(node_name, "capacity", 10_000) < round(share * 10_000)
