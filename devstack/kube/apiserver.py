"""A real kube-apiserver backed by a real etcd, both on loopback (ARCHITECTURE.md §3).

On its own it has no scheduler, controller-manager or kubelet: callers create Nodes and Pods
themselves (``devstack.kube.control_plane`` adds the rest). Authentication is a static token file
(an admin in ``system:masters`` plus a pool of plain users), authorization is RBAC, and
:meth:`KubeApiServer.mint_identity` hands out the next pool user bound to a fresh ClusterRole, so
a caller can act with exactly the permissions it wants to check.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
from lightkube import AsyncClient, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding

from devstack.kube.binaries import ensure_apiserver_binary, find_etcd
from devstack.kube.children import (
    ChildProcess,
    live_processes_of,
    spawn,
    terminate,
    wait_until,
)
from devstack.kube.credentials import ADMIN_USER, write_serving_credentials, write_token_file
from devstack.kube.errors import KubeHarnessError
from devstack.kube.identity import KubeIdentity, RuleLike, review_spec
from devstack.process import free_port

# kube-apiserver 1.20 exits on SIGTERM within a second, except that it waits (up to a minute) for
# open watch streams to end; after this many seconds it is killed, which clients see the same way.
APISERVER_GRACE = 5.0
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class KubeApiServer:
    """etcd + kube-apiserver on free loopback ports, with TLS, token auth and RBAC.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``watch_cache`` is off by
    default so that watches are served from etcd's history: a client can resume from a
    resourceVersion across :meth:`restart_apiserver` (with the cache on, a restarted server
    answers 410 Gone for anything older than its fresh cache, which a test may want instead).
    """

    def __init__(
        self,
        apiserver_binary: Path | None = None,
        etcd_binary: Path | None = None,
        *,
        identity_pool: int = 32,
        watch_cache: bool = False,
        startup_timeout: float = 90.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        """Prepare (not start) a server; binaries default to the cached build and Debian's etcd."""
        self._apiserver_binary = apiserver_binary
        self._etcd_binary = etcd_binary
        self._identity_pool = identity_pool
        self._watch_cache = watch_cache
        self._startup_timeout = startup_timeout
        self._extra_args = tuple(extra_args)
        self._workdir: Path | None = None
        self._etcd: ChildProcess | None = None
        self._apiserver: ChildProcess | None = None
        self._etcd_client_url = ""
        self._etcd_peer_url = ""
        self._etcd_port_taken = False
        self._etcd_starts = 0
        self._apiserver_starts = 0
        self._secure_port = 0
        self._pool_tokens: dict[str, str] = {}
        self._next_identity = 0
        self._lock = threading.Lock()
        self.admin_token = secrets.token_urlsafe(32)

    # ----------------------------------------------------------------------------- properties

    @property
    def workdir(self) -> Path:
        """The temporary directory holding certificates, tokens, etcd data and logs."""
        if self._workdir is None:
            raise KubeHarnessError("the server is not started")
        return self._workdir

    @property
    def server_url(self) -> str:
        """The HTTPS URL of the API server."""
        if not self._secure_port:
            raise KubeHarnessError("the server is not started")
        return f"https://127.0.0.1:{self._secure_port}"

    @property
    def ca_path(self) -> Path:
        """PEM file of the CA that signed the serving certificate."""
        return self.workdir / "ca.crt"

    @property
    def etcd_url(self) -> str:
        """The etcd client URL (plain HTTP on loopback)."""
        return self._etcd_client_url

    @property
    def admin(self) -> KubeIdentity:
        """The cluster-admin identity (group ``system:masters``)."""
        return KubeIdentity(ADMIN_USER, self.admin_token, self.server_url, self.ca_path)

    def pids(self) -> list[int]:
        """Process ids of the running etcd and kube-apiserver."""
        return [p.popen.pid for p in (self._etcd, self._apiserver) if p is not None]

    def admin_client(self, namespace: str | None = None) -> Client:
        """Return a lightkube ``Client`` acting as cluster admin; the caller closes it."""
        return self.admin.client(namespace)

    def admin_async_client(self, namespace: str | None = None) -> AsyncClient:
        """Return a lightkube ``AsyncClient`` acting as cluster admin; the caller closes it."""
        return self.admin.async_client(namespace)

    # ------------------------------------------------------------------------------ lifecycle

    def __enter__(self) -> KubeApiServer:
        """Start both processes."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop both processes and remove the temporary directory."""
        self.stop()

    def start(self) -> None:
        """Start etcd, then kube-apiserver, and wait until ``/readyz`` answers 200."""
        if self._workdir is not None:
            raise KubeHarnessError("already started")
        if self._apiserver_binary is None:
            self._apiserver_binary = ensure_apiserver_binary()
        if self._etcd_binary is None:
            self._etcd_binary = find_etcd()
        self._workdir = Path(tempfile.mkdtemp(prefix="slicewise-kube-"))
        try:
            self._write_credentials()
            self._start_etcd()
            self.start_apiserver()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop kube-apiserver and etcd (whole process groups) and remove the temporary dir."""
        errors: list[str] = []
        for attr, grace in (("_apiserver", APISERVER_GRACE), ("_etcd", 20.0)):
            proc: ChildProcess | None = getattr(self, attr)
            if proc is not None:
                try:
                    terminate(proc, grace)
                except KubeHarnessError as exc:
                    errors.append(str(exc))
                setattr(self, attr, None)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._secure_port = 0
        self._etcd_client_url = ""
        if errors:
            raise KubeHarnessError("; ".join(errors))

    def stop_apiserver(self, grace: float = APISERVER_GRACE) -> None:
        """Stop only kube-apiserver (SIGTERM, SIGKILL after ``grace`` s); etcd and data stay."""
        if self._apiserver is not None:
            proc, self._apiserver = self._apiserver, None
            terminate(proc, grace)

    def start_apiserver(self) -> None:
        """Start kube-apiserver against the running etcd and wait until it is ready.

        A fresh port is picked on the first start and kept on later ones, so clients made before
        a restart keep working. A port lost to a race with another process is retried.
        """
        if self._apiserver is not None:
            raise KubeHarnessError("kube-apiserver is already running")
        if self._etcd is None:
            raise KubeHarnessError("etcd is not running")
        keep_port = bool(self._secure_port)
        for attempt in range(3):
            if not keep_port:
                self._secure_port = free_port()
            # Each start logs to a file of its own, so the log of one that died is kept.
            self._apiserver_starts += 1
            proc = spawn(
                "kube-apiserver", self._apiserver_command(), self.workdir, self._apiserver_starts
            )
            self._apiserver = proc
            try:
                self._wait_ready(proc)
            except KubeHarnessError:
                self._apiserver = None
                terminate(proc)
                if "address already in use" in proc.log_tail() and attempt < 2:
                    continue
                raise
            return

    def restart_apiserver(self, grace: float = APISERVER_GRACE) -> None:
        """Stop and start kube-apiserver on the same port, keeping etcd and all objects."""
        self.stop_apiserver(grace)
        self.start_apiserver()

    # ----------------------------------------------------------------------------- identities

    def mint_identity(
        self,
        rules: Sequence[RuleLike],
        *,
        name: str | None = None,
        timeout: float = 30.0,
    ) -> KubeIdentity:
        """Bind the next unused pool user to a new ClusterRole holding ``rules``.

        ``rules`` are lightkube ``PolicyRule`` objects or their dict form (``{"apiGroups": [""],
        "resources": ["pods"], "verbs": ["list"]}``). Returns once the RBAC authorizer already
        grants the first rule, so the identity is usable at once.
        """
        with self._lock:
            if self._next_identity >= self._identity_pool:
                raise KubeHarnessError(
                    f"all {self._identity_pool} pool identities are used; "
                    "start the harness with a larger identity_pool"
                )
            self._next_identity += 1
            user = f"user-{self._next_identity}"
        policy = [r if isinstance(r, PolicyRule) else PolicyRule(**dict(r)) for r in rules]
        role_name = name or f"slicewise-test-{user}"
        with self.admin_client() as client:
            client.create(ClusterRole(metadata=ObjectMeta(name=role_name), rules=policy))
            client.create(
                ClusterRoleBinding(
                    metadata=ObjectMeta(name=role_name),
                    roleRef=RoleRef(
                        apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name=role_name
                    ),
                    subjects=[
                        Subject(kind="User", name=user, apiGroup="rbac.authorization.k8s.io")
                    ],
                )
            )
            if policy:
                # The authorizer reads RBAC objects from an informer cache, so a fresh binding
                # takes effect a moment later: wait until a review of the first rule says yes.
                spec = review_spec(user, policy[0])
                wait_until(
                    lambda: bool(
                        (status := client.create(SubjectAccessReview(spec=spec)).status)
                        and status.allowed
                    ),
                    timeout,
                    f"RBAC did not grant {user} its new role",
                )
        return KubeIdentity(user, self._pool_tokens[user], self.server_url, self.ca_path)

    # ------------------------------------------------------------------------------ internals

    def _write_credentials(self) -> None:
        """Write CA, serving cert, service-account key and the static token file."""
        self._next_identity = 0
        write_serving_credentials(self.workdir)
        self._pool_tokens = write_token_file(
            self.workdir / "tokens.csv", self.admin_token, self._identity_pool
        )

    def _start_etcd(self) -> None:
        """Start etcd with a fresh private data dir on free ports and wait for its /health."""
        shutil.rmtree(self.workdir / "etcd-data", ignore_errors=True)
        for attempt in range(3):
            self._etcd_client_url = f"http://127.0.0.1:{free_port()}"
            self._etcd_peer_url = f"http://127.0.0.1:{free_port()}"
            try:
                self._spawn_etcd()
            except KubeHarnessError:
                if self._etcd_port_taken and attempt < 2:
                    continue
                raise
            return

    def restart_etcd(self) -> None:
        """Start etcd again (after it died) on the same ports over the same data.

        kube-apiserver keeps retrying its etcd connection meanwhile, so every object survives
        and clients need not notice more than a pause.
        """
        if self._etcd is not None:
            proc, self._etcd = self._etcd, None
            terminate(proc)
        self._spawn_etcd()

    @property
    def etcd_process(self) -> ChildProcess | None:
        """The running (or last started) etcd process."""
        return self._etcd

    @property
    def apiserver_process(self) -> ChildProcess | None:
        """The running (or last started) kube-apiserver process."""
        return self._apiserver

    def _spawn_etcd(self) -> None:
        """Start etcd on the chosen URLs over ``workdir/etcd-data`` and wait for its /health."""
        if self._etcd_binary is None:
            raise KubeHarnessError("no etcd binary")
        client_url, peer_url = self._etcd_client_url, self._etcd_peer_url
        data_dir = self.workdir / "etcd-data"
        # Over existing data etcd ignores the --initial-* flags and restarts its member.
        command = [
            str(self._etcd_binary),
            "--name=slicewise-test",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=slicewise-test={peer_url}",
            "--initial-cluster-state=new",
            "--log-level=warn",
            "--logger=zap",
        ]
        # Each start logs to a file of its own, so the log of one that died is kept.
        self._etcd_starts += 1
        proc = spawn("etcd", command, self.workdir, self._etcd_starts)
        self._etcd = proc
        self._etcd_port_taken = False
        try:
            wait_until(
                functools.partial(_etcd_healthy, client_url),
                self._startup_timeout,
                "etcd did not become healthy",
                proc,
            )
        except KubeHarnessError:
            self._etcd = None
            terminate(proc)
            self._etcd_port_taken = "address already in use" in proc.log_tail()
            raise

    def _apiserver_command(self) -> list[str]:
        """Command line of kube-apiserver 1.20 for this harness."""
        if self._apiserver_binary is None:
            raise KubeHarnessError("no kube-apiserver binary")
        wd = self.workdir
        return [
            str(self._apiserver_binary),
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self._secure_port}",
            "--insecure-port=0",
            f"--cert-dir={wd / 'certs'}",
            f"--tls-cert-file={wd / 'serving.crt'}",
            f"--tls-private-key-file={wd / 'serving.key'}",
            f"--etcd-servers={self._etcd_client_url}",
            f"--token-auth-file={wd / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--anonymous-auth=false",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={wd / 'sa.key'}",
            f"--service-account-signing-key-file={wd / 'sa.key'}",
            f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
            "--service-cluster-ip-range=10.96.0.0/16",
            # No controller-manager creates the "default" ServiceAccount in each namespace, so the
            # ServiceAccount admission plugin would reject every Pod.
            "--disable-admission-plugins=ServiceAccount",
            f"--watch-cache={'true' if self._watch_cache else 'false'}",
            "--profiling=false",
            "--logtostderr=true",
            "--v=1",
            *self._extra_args,
        ]

    def _wait_ready(self, proc: ChildProcess) -> None:
        """Poll ``/readyz`` as admin until it answers 200."""
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        with httpx.Client(verify=ctx, headers=headers, timeout=5.0, trust_env=False) as http:

            def ready() -> bool:
                try:
                    return http.get(f"{self.server_url}/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, self._startup_timeout, "kube-apiserver did not become ready", proc)

            # /readyz does not cover the bootstrap controller, which creates the "default"
            # namespace a moment later; tests create Pods there right away.
            def default_namespace() -> bool:
                url = f"{self.server_url}/api/v1/namespaces/default"
                try:
                    return http.get(url).status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(
                default_namespace, self._startup_timeout, "no default namespace appeared", proc
            )


@contextlib.contextmanager
def running_kube_apiserver(*, watch_cache: bool = False) -> Iterator[KubeApiServer]:
    """Start a harness (building the binary if needed), yield it, stop it, check nothing remains.

    Raises :class:`KubeHarnessError` at exit if a process of the harness outlived ``stop()``.
    """
    server = KubeApiServer(ensure_apiserver_binary(), watch_cache=watch_cache)
    server.start()
    pids, workdir = server.pids(), server.workdir
    try:
        yield server
    finally:
        server.stop()
        leftovers = live_processes_of(pids, workdir)
        if leftovers:
            raise KubeHarnessError(f"kube harness left processes behind: {leftovers}")


def _etcd_healthy(client_url: str) -> bool:
    """True once etcd answers its /health endpoint with health true."""
    try:
        response = httpx.get(f"{client_url}/health", timeout=2.0, trust_env=False)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and response.json().get("health") == "true"
