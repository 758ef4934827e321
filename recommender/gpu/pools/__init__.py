"""Cluster-level GPU sharing plans: which nodes become which sharing pool and what moves there.

`subjects` finds the GPU workloads whose measured need fits a share of a GPU, `operator` reads
what the NVIDIA GPU Operator accepts, `plan` places the workloads with the placement engine and
decides which nodes are emptied, `changes` turns the plan into the ordered change set, and
`recommendation` prices and explains it.
"""
