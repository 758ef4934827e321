"""Create the demo fleet as real objects in a Kubernetes API server (the local control plane).

``python -m demo.seed --kubeconfig FILE`` builds the fleet from the Alibaba GPU trace and
creates its Nodes, namespaces, Deployments, StatefulSets and PDBs; the control plane's
controllers and scheduler do the rest. Objects that already exist are left as they are, so a
second run after a restart is harmless.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.generic_resource import create_namespaced_resource

from bench.snapshots.trace import read_trace_nodes, read_trace_pods
from demo.cluster_objects import Manifest, fleet_manifests
from demo.data import DEFAULT_DATA, DemoData
from demo.fleet import Fleet, FleetSpec, build_fleet

DEMO_CLUSTER = uuid.UUID("5d1c7a2e-3b4f-4c8d-9e0a-1b2c3d4e5f60")
CONFLICT = 409

# Declaring it registers policy/v1beta1 PodDisruptionBudget with lightkube's codecs, whose
# models start at policy/v1.
PodDisruptionBudgetV1beta1 = create_namespaced_resource(
    "policy", "v1beta1", "PodDisruptionBudget", "poddisruptionbudgets"
)


def load_fleet(nodes: Path, pods: Path, spec: FleetSpec) -> Fleet:
    """The demo fleet from a GPU trace's node and pod lists (``alibaba-gpu-v2023`` format)."""
    return build_fleet(read_trace_nodes(nodes), read_trace_pods(pods), spec, datetime.now(UTC))


def create_objects(client: Client, manifests: Iterable[Manifest]) -> int:
    """Create each object unless it exists; return how many were created."""
    created = 0
    for manifest in manifests:
        try:
            client.create(codecs.from_dict(manifest))
        except ApiError as e:
            if e.status.code != CONFLICT:
                raise
        else:
            created += 1
    return created


def main(argv: Sequence[str] | None = None) -> int:
    """Seed the cluster the kubeconfig points at; print what was created."""
    parser = argparse.ArgumentParser(prog="python -m demo.seed", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--pods", type=int, default=200, help="running trace pods to place")
    parser.add_argument("--spot-share", type=float, default=0.25, help="share of spot nodes")
    parser.add_argument("--spare-nodes", type=float, default=0.2, help="slack for the scheduler")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = FleetSpec(
        cluster_id=DEMO_CLUSTER,
        pod_count=args.pods,
        spot_share=args.spot_share,
        spare_nodes=args.spare_nodes,
        seed=args.seed,
    )
    files = DemoData.under(args.data)
    fleet = load_fleet(files.nodes, files.pods, spec)
    with Client(KubeConfig.from_file(args.kubeconfig), trust_env=False) as client:
        created = create_objects(client, fleet_manifests(fleet))
    sys.stdout.write(
        f"seed: {created} objects created for {len(fleet.nodes)} nodes and "
        f"{len(fleet.workloads)} workloads ({len(fleet.pods)} pods)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
