"""Run the product's own containers of bound Pods as local processes, as a kubelet would.

There is no container runtime here, but the product's image runs ``python -m <module> [args]``:
a container of that shape (``image`` in ``images``) is started with this interpreter and the
environment the Pod spec renders (literal values, Secret and ConfigMap keys, the downward API).
Its volume mounts map to private directories and its declared ports to free ones; in place of
the service-account token mount it gets a kubeconfig holding a token the API server issued for
the Pod's ServiceAccount (the TokenRequest API), in the variable ``kubeconfig_variables`` names
for that module, unless the Pod opts out of the token (``automountServiceAccountToken: false``).
A process that exits is not restarted; the node keeper reports its container as failing
(CrashLoopBackOff, or Failed under ``restartPolicy: Never``).
"""

from __future__ import annotations

import base64
import shutil
import ssl
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from devstack.kube.children import ChildProcess, spawn, terminate
from devstack.kube.credentials import write_kubeconfig
from devstack.kube.identity import KubeIdentity
from devstack.process import free_port

JsonObject = dict[str, Any]
TOKEN_SECONDS = 3600


def python_module(
    container: Mapping[str, Any], images: frozenset[str]
) -> tuple[str, list[str]] | None:
    """The module and arguments a ``python -m MODULE [ARG ...]`` container of ``images`` runs.

    None for any other container.
    """
    image = str(container.get("image", "")).split(":", 1)[0]
    command = [str(word) for word in (container.get("command") or [])]
    command += [str(word) for word in (container.get("args") or [])]
    if image not in images or len(command) < 3 or command[:2] != ["python", "-m"]:
        return None
    return command[2], command[3:]


class PodProcesses:
    """Starts and stops local processes for the product containers of Running Pods."""

    def __init__(
        self,
        admin: KubeIdentity,
        workdir: Path,
        *,
        images: frozenset[str],
        kubeconfig_variables: Mapping[str, str],
        namespaces: frozenset[str] | None = None,
    ) -> None:
        """Run containers of ``images`` (in ``namespaces``, or all); see the module docstring."""
        self._namespaces = namespaces
        self._admin = admin
        self._workdir = workdir
        self._images = images
        self._variables = dict(kubeconfig_variables)
        self._running: dict[str, ChildProcess] = {}

    def running(self) -> dict[str, ChildProcess]:
        """The processes by ``namespace/pod/container``, exited ones included."""
        return dict(self._running)

    def exited_pods(self) -> set[str]:
        """``namespace/pod`` of Pods one of whose processes has exited.

        They are not restarted: the node keeper reports their containers as failing instead.
        """
        return {
            key.rsplit("/", 1)[0]
            for key, proc in self._running.items()
            if proc.popen.poll() is not None
        }

    def sync(self, pods: list[JsonObject]) -> None:
        """Start processes for new Running Pods, stop those whose Pod is gone or deleting."""
        wanted: set[str] = set()
        for pod in pods:
            meta, spec = pod["metadata"], pod.get("spec") or {}
            alive = (pod.get("status") or {}).get("phase") == "Running"
            if not alive or meta.get("deletionTimestamp") or not spec.get("nodeName"):
                continue
            if self._namespaces is not None and meta["namespace"] not in self._namespaces:
                continue
            for container in spec.get("containers") or []:
                launch = python_module(container, self._images)
                if launch is None:
                    continue
                key = f"{meta['namespace']}/{meta['name']}/{container['name']}"
                wanted.add(key)
                if key not in self._running:
                    self._start(pod, container, launch, key)
        for key in set(self._running) - wanted:
            terminate(self._running.pop(key))

    def stop(self) -> None:
        """Stop every process."""
        for key in list(self._running):
            terminate(self._running.pop(key))

    def _start(
        self, pod: JsonObject, container: JsonObject, launch: tuple[str, list[str]], key: str
    ) -> None:
        module, args = launch
        home = self._workdir / key.replace("/", "_")
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        # A Pod that opts out of the token mount gets no token here either.
        mounts_token = (pod.get("spec") or {}).get("automountServiceAccountToken") is not False
        with self._http() as http:
            env = self._environment(http, pod, container, home)
            if module in self._variables and mounts_token:
                token = self._service_account_token(http, pod)
                identity = KubeIdentity(
                    "pod-service-account", token, self._admin.server_url, self._admin.ca_path
                )
                config = write_kubeconfig(home / "kubeconfig", identity.kubeconfig_dict())
                env[self._variables[module]] = str(config)
        command = [sys.executable, "-m", module, *args]
        self._running[key] = spawn(key.replace("/", "_"), command, home, env=env)

    def _http(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self._admin.ca_path))
        return httpx.Client(
            base_url=self._admin.server_url,
            verify=context,
            headers={"Authorization": f"Bearer {self._admin.token}"},
            timeout=10.0,
            trust_env=False,
        )

    def _service_account_token(self, http: httpx.Client, pod: JsonObject) -> str:
        """A token of the Pod's ServiceAccount, bound to the Pod, from the TokenRequest API."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        token_spec: JsonObject = {"expirationSeconds": TOKEN_SECONDS}
        account = spec.get("serviceAccountName")
        if account:
            token_spec["boundObjectRef"] = {"kind": "Pod", "apiVersion": "v1", "name": meta["name"]}
        else:
            # The ServiceAccount admission plugin, which would name "default" in the Pod, is off
            # here; a token bound to the Pod would then be refused for the mismatch.
            account = "default"
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": token_spec,
        }
        url = f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token"
        response = http.post(url, json=body)
        response.raise_for_status()
        token: str = response.json()["status"]["token"]
        return token

    def _environment(
        self, http: httpx.Client, pod: JsonObject, container: JsonObject, home: Path
    ) -> dict[str, str]:
        """The container's environment, with mount paths mapped under ``home``."""
        namespace = pod["metadata"]["namespace"]
        mounts = {
            m["mountPath"]: home / "volumes" / m["name"]
            for m in container.get("volumeMounts") or []
        }
        for local in mounts.values():
            local.mkdir(parents=True, exist_ok=True)
        self._project_volumes(http, pod, container, home)
        # A Pod has a network namespace of its own; these processes share the machine's, so a
        # declared container port the environment names moves to a free port.
        ports = {str(p["containerPort"]): str(free_port()) for p in container.get("ports") or []}
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONUNBUFFERED": "1"}
        for entry in container.get("env") or []:
            value = self._env_value(http, pod, namespace, entry)
            if value is None:
                continue
            value = ports.get(value, value)
            for mount_path, local in sorted(mounts.items(), key=lambda m: -len(m[0])):
                if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
                    value = str(local) + value[len(mount_path.rstrip("/")) :]
                    break
            env[entry["name"]] = value
        return env

    def _project_volumes(
        self, http: httpx.Client, pod: JsonObject, container: JsonObject, home: Path
    ) -> None:
        """Write the keys of mounted ConfigMap and Secret volumes as files, as a kubelet does."""
        namespace = pod["metadata"]["namespace"]
        mounted = {m["name"] for m in container.get("volumeMounts") or []}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if volume["name"] not in mounted:
                continue
            if "configMap" in volume:
                source, kind, decode = volume["configMap"], "configmaps", False
                name = source["name"]
            elif "secret" in volume:
                source, kind, decode = volume["secret"], "secrets", True
                name = source["secretName"]
            else:
                continue
            data = self._object(http, f"/api/v1/namespaces/{namespace}/{kind}/{name}")
            values = data.get("data") or {}
            items = source.get("items") or [{"key": k, "path": k} for k in values]
            for item in items:
                if item["key"] not in values:
                    continue
                raw = values[item["key"]]
                target = home / "volumes" / volume["name"] / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(raw) if decode else str(raw).encode())

    def _env_value(
        self, http: httpx.Client, pod: JsonObject, namespace: str, entry: JsonObject
    ) -> str | None:
        if "value" in entry:
            return str(entry["value"])
        source = entry.get("valueFrom") or {}
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            data = self._object(http, f"/api/v1/namespaces/{namespace}/secrets/{ref['name']}")
            raw = (data.get("data") or {}).get(ref["key"])
            return base64.b64decode(raw).decode() if raw is not None else None
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            data = self._object(http, f"/api/v1/namespaces/{namespace}/configmaps/{ref['name']}")
            found = (data.get("data") or {}).get(ref["key"])
            return str(found) if found is not None else None
        if "fieldRef" in source:
            value: Any = pod
            for part in source["fieldRef"]["fieldPath"].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return str(value) if value is not None else None
        return None

    @staticmethod
    def _object(http: httpx.Client, path: str) -> JsonObject:
        response = http.get(path)
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        found: JsonObject = response.json()
        return found
