"""Where a cluster's KEDA finds Prometheus, as the tenant's settings document says.

`prometheus_server_address` is the tenant's default; `prometheus_server_addresses` maps a
cluster id to its own. Anything absent or not an http(s) URL reads as unset, and the
recommender then proposes its default (`gpu_scaling.DEFAULT_PROMETHEUS_ADDRESS`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

PROMETHEUS_SERVER_ADDRESS = "prometheus_server_address"
PROMETHEUS_SERVER_ADDRESSES = "prometheus_server_addresses"


def _address(value: object) -> str | None:
    if isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) <= 2048:
        return value
    return None


def prometheus_address(settings: Mapping[str, Any], cluster_id: uuid.UUID) -> str | None:
    """The cluster's own address, else the tenant's, else None."""
    per_cluster = settings.get(PROMETHEUS_SERVER_ADDRESSES)
    own = _address(per_cluster.get(str(cluster_id))) if isinstance(per_cluster, dict) else None
    return own or _address(settings.get(PROMETHEUS_SERVER_ADDRESS))
