"""Placement of GPU-sharing pods onto nodes and GPUs: cluster arrays, policies and the node plan.

Everything here works on numpy arrays over nodes (free CPU, free milli-GPU per GPU, GPU model id)
so that a policy scores every node of a cluster in a handful of vectorised operations.
"""
