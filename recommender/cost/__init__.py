"""Cost allocation: who pays for which share of each node, per hour, by the OpenCost rules.

A node's hourly price is split into CPU, memory and GPU rates (`rates`, `node_rates`); every
container is charged max(request, usage) of each resource at those rates for the time it ran,
with its GPU share counted as the fraction of a physical GPU it holds (`gpu_share`); what no
container pays for is the node's idle cost (`allocation`). `snapshot_hours` turns one cluster
snapshot into those inputs, hour by hour; `grouping` sums the result by pod, workload,
namespace, label or node; `idle_gpus` finds workloads whose GPUs stayed idle for a window of hours.
"""
