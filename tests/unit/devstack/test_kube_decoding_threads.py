"""Decoding Kubernetes objects from several threads at once does not crash the process.

The `slicewise up` process decodes lightkube objects in its main thread while the node keeper,
its autoscaler and the GPU Operator stand-in do the same in threads of their own. msgspec
builds a Struct's decoding tables on its first decode; releases before 0.23 let a second thread
use half-built tables, a segmentation fault in about half of the runs of a single race.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

RACE = textwrap.dedent(
    """
    import json
    import threading

    from lightkube.core.decoders import decode_list, decode_object
    from lightkube.resources import apps_v1, core_v1

    KINDS = [
        core_v1.Node, core_v1.Pod, core_v1.ConfigMap, core_v1.Service,
        core_v1.Namespace, core_v1.ServiceAccount, core_v1.PersistentVolume,
        core_v1.PersistentVolumeClaim, core_v1.Event, core_v1.Secret,
        apps_v1.Deployment, apps_v1.ReplicaSet, apps_v1.StatefulSet, apps_v1.DaemonSet,
    ]
    barrier = threading.Barrier(2)

    def decode(as_list: bool) -> None:
        for kind in KINDS:
            item = {"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {}, "status": {}}
            barrier.wait()
            if as_list:
                body = {"metadata": {"resourceVersion": "1"}, "items": [item]}
                decode_list(json.dumps(body).encode(), kind)
            else:
                decode_object(json.dumps(item).encode(), kind)

    threads = [threading.Thread(target=decode, args=(flag,)) for flag in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("decoded")
    """
)


def test_first_decodes_of_the_same_kinds_in_two_threads_at_once_do_not_crash() -> None:
    """Two threads decode 14 kinds for the first time in lockstep; the process survives."""
    run = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", RACE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (run.returncode, run.stdout.strip()) == (0, "decoded"), run.stderr[-2000:]
