"""Where a cluster's KEDA finds Prometheus, as the tenant's settings document says.

`prometheus_server_address` is the tenant's default; `prometheus_server_addresses` maps a
cluster id to its own. Admins set both in the console (`store.repositories.tenant_policy` reads
them); anything absent or not an http(s) URL reads as unset, and the recommender then proposes
its default (`gpu_scaling.DEFAULT_PROMETHEUS_ADDRESS`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from store.repositories.tenant_policy import (
    PROMETHEUS_SERVER_ADDRESS,
    PROMETHEUS_SERVER_ADDRESSES,
    policy_from_settings,
)

__all__ = ["PROMETHEUS_SERVER_ADDRESS", "PROMETHEUS_SERVER_ADDRESSES", "prometheus_address"]


def prometheus_address(settings: Mapping[str, Any], cluster_id: uuid.UUID) -> str | None:
    """The cluster's own address, else the tenant's, else None."""
    return policy_from_settings(settings).prometheus_address_for(cluster_id)
