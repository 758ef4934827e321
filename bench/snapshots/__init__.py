"""Realistic cluster snapshots built from the Alibaba GPU-sharing trace (node and pod lists).

Nodes come from a node list (`sn,cpu_milli,memory_mib,gpu,model`), pods from a pod list
(`name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,...`), columns found by
header. Running pods are sampled; pods of the same resource shape become replicas of one
Deployment, are placed first-fit on the nodes (respecting `gpu_spec`), and carry CPU, memory and
GPU usage samples. Used by the ingest bench, the workers bench and the local demo.
"""

from bench.snapshots.build import SnapshotSpec, build_snapshot
from bench.snapshots.objects import GPU_MEMORY_MIB, MIB
from bench.snapshots.trace import TraceNode, TracePod, read_trace_nodes, read_trace_pods
from bench.snapshots.variants import SnapshotVariants, encode_snapshot

__all__ = [
    "GPU_MEMORY_MIB",
    "MIB",
    "SnapshotSpec",
    "SnapshotVariants",
    "TraceNode",
    "TracePod",
    "build_snapshot",
    "encode_snapshot",
    "read_trace_nodes",
    "read_trace_pods",
]
