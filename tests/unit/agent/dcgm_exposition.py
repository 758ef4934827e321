"""A DCGM exporter scrape of one node: GPU 0 whole (one pod), GPU 1 in MIG mode (two pods).

Shaped like dcgm-exporter 3.x output with Kubernetes pod mapping on: HELP/TYPE lines, the
default counters, per-device labels, MIG instance labels, and series for a metric the agent
does not read.
"""

from __future__ import annotations

NODE = "gpu-node-1"
UUID0 = "GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52"
UUID1 = "GPU-9b1c3a0e-51f2-4c77-8d1e-0f6a2b7c4d55"

_DEV0 = (
    f'gpu="0",UUID="{UUID0}",pci_bus_id="00000000:10:1C.0",device="nvidia0",'
    f'modelName="NVIDIA A100-SXM4-80GB",Hostname="{NODE}",DCGM_FI_DRIVER_VERSION="535.104.05",'
    'container="trainer",namespace="ml",pod="trainer-0"'
)
_MIG_A = (
    f'gpu="1",UUID="{UUID1}",pci_bus_id="00000000:10:1D.0",device="nvidia1",'
    f'modelName="NVIDIA A100-SXM4-80GB",Hostname="{NODE}",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",'
    'DCGM_FI_DRIVER_VERSION="535.104.05",container="server",namespace="serving",pod="llm-a-5f7"'
)
_MIG_B = (
    f'gpu="1",UUID="{UUID1}",pci_bus_id="00000000:10:1D.0",device="nvidia1",'
    f'modelName="NVIDIA A100-SXM4-80GB",Hostname="{NODE}",GPU_I_PROFILE="3g.40gb",GPU_I_ID="2",'
    'DCGM_FI_DRIVER_VERSION="535.104.05",container="server",namespace="serving",pod="llm-b-9c2"'
)

EXPOSITION = f"""\
# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).
# TYPE DCGM_FI_DEV_SM_CLOCK gauge
DCGM_FI_DEV_SM_CLOCK{{{_DEV0}}} 1410
# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{{{_DEV0}}} 87
# HELP DCGM_FI_DEV_FB_FREE Framebuffer memory free (in MiB).
# TYPE DCGM_FI_DEV_FB_FREE gauge
DCGM_FI_DEV_FB_FREE{{{_DEV0}}} 20480
DCGM_FI_DEV_FB_FREE{{{_MIG_A}}} 30720
DCGM_FI_DEV_FB_FREE{{{_MIG_B}}} 38912
# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{{{_DEV0}}} 60416
DCGM_FI_DEV_FB_USED{{{_MIG_A}}} 9728
DCGM_FI_DEV_FB_USED{{{_MIG_B}}} 1536
# HELP DCGM_FI_PROF_GR_ENGINE_ACTIVE Ratio of time the graphics engine is active.
# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge
DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{_DEV0}}} 0.862
DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{_MIG_A}}} 0.412
DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{_MIG_B}}} 0.037
"""
