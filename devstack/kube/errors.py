"""The one error type of the local Kubernetes control plane."""

from __future__ import annotations


class KubeHarnessError(RuntimeError):
    """The control plane could not build, start or stop one of its processes."""
