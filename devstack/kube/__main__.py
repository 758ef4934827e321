"""``python -m devstack.kube``: run the local cluster until interrupted.

Builds the binaries on first use (progress on stderr), then prints the admin kubeconfig's path
and, with ``--gpu-traces``, the DCGM endpoint's URL, one ``key=value`` per line on stdout.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from devstack.kube.local_cluster import local_cluster


def main(argv: Sequence[str] | None = None) -> int:
    """Start the cluster, print where it is, and stop it on SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m devstack.kube", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True, help="where to write it")
    parser.add_argument("--gpu-traces", type=Path, help="alibaba-genai-v2026 folder")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with local_cluster(args.kubeconfig, args.gpu_traces) as cluster:
        sys.stdout.write(f"kubeconfig={cluster.kubeconfig}\n")
        if cluster.dcgm_url:
            sys.stdout.write(f"dcgm_url={cluster.dcgm_url}\n")
        sys.stdout.write("ready=1\n")
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
