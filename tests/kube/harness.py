"""A real kube-apiserver backed by a real etcd, both on loopback, for tests (ARCHITECTURE.md §3).

There is no controller-manager, scheduler or kubelet: tests create Nodes and Pods themselves.
Authentication is a static token file (an admin in ``system:masters`` plus a pool of plain users),
authorization is RBAC, and :meth:`KubeApiServer.mint_identity` hands out the next pool user bound
to a fresh ClusterRole, so a test can act with exactly the permissions it wants to check.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ipaddress
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lightkube import AsyncClient, Client, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.models.authorization_v1 import (
    NonResourceAttributes,
    ResourceAttributes,
    SubjectAccessReviewSpec,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding

from devstack.process import free_port

BUILD_SCRIPT = Path(__file__).with_name("build_apiserver.sh")
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "slicewise" / "kube"

ADMIN_USER = "slicewise-admin"
POOL_GROUP = "slicewise:test-users"
# kube-apiserver 1.20 exits on SIGTERM within a second, except that it waits (up to a minute) for
# open watch streams to end; after this many seconds it is killed, which clients see the same way.
APISERVER_GRACE = 5.0
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"

RuleLike = PolicyRule | Mapping[str, Any]


class KubeHarnessError(RuntimeError):
    """The harness could not build, start or stop one of its processes."""


def cache_dir() -> Path:
    """Return the directory the build script caches ``kube-apiserver`` in."""
    override = os.environ.get("SLICEWISE_KUBE_CACHE")
    return Path(override) if override else DEFAULT_CACHE_DIR


def cached_apiserver_binary() -> Path | None:
    """Return the cached (or ``SLICEWISE_KUBE_APISERVER``-given) binary, or None if absent."""
    override = os.environ.get("SLICEWISE_KUBE_APISERVER")
    candidate = Path(override) if override else cache_dir() / "kube-apiserver"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def ensure_apiserver_binary(timeout: float = 1800.0) -> Path:
    """Return the kube-apiserver binary, running the build script first if it is not cached.

    The first build fetches Debian's kubernetes sources and compiles them (about five minutes on
    two cores); the script's progress goes to this process's stderr.
    """
    cached = cached_apiserver_binary()
    if cached is not None:
        return cached
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise KubeHarnessError(f"{BUILD_SCRIPT} failed with exit code {result.returncode}")
    lines = result.stdout.strip().splitlines()
    binary = Path(lines[-1]) if lines else None
    if binary is None or not binary.is_file():
        raise KubeHarnessError(f"{BUILD_SCRIPT} did not print a binary path: {result.stdout!r}")
    return binary


def find_etcd() -> Path:
    """Return the etcd binary (Debian's ``etcd-server`` installs ``/usr/bin/etcd``)."""
    found = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").exists() else None)
    if found is None:
        raise KubeHarnessError("etcd not found; run tests/kube/build_apiserver.sh to install it")
    return Path(found)


@dataclass(frozen=True)
class KubeIdentity:
    """Credentials of one user of the test API server: everything a kubeconfig would hold."""

    user: str
    token: str
    server_url: str
    ca_path: Path

    def kubeconfig(self, namespace: str | None = None) -> KubeConfig:
        """Return a lightkube ``KubeConfig`` that authenticates as this identity."""
        return KubeConfig.from_one(
            cluster=Cluster(server=self.server_url, certificate_auth=str(self.ca_path)),
            user=User(token=self.token),
            namespace=namespace,
        )

    def kubeconfig_dict(self, namespace: str | None = None) -> dict[str, Any]:
        """Return the identity as a kubeconfig document (what ``kubectl`` would read)."""
        context: dict[str, Any] = {"cluster": "slicewise-test", "user": self.user}
        if namespace is not None:
            context["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "slicewise-test",
                    "cluster": {
                        "server": self.server_url,
                        "certificate-authority": str(self.ca_path),
                    },
                }
            ],
            "users": [{"name": self.user, "user": {"token": self.token}}],
            "contexts": [{"name": "slicewise-test", "context": context}],
            "current-context": "slicewise-test",
        }

    def client(self, namespace: str | None = None, timeout: float = 10.0) -> Client:
        """Return a lightkube ``Client`` for this identity; the caller closes it."""
        # trust_env=False: a proxy from the environment must never see loopback test traffic.
        return Client(
            self.kubeconfig(namespace),
            timeout=httpx_timeout(timeout),
            trust_env=False,
        )

    def async_client(self, namespace: str | None = None, timeout: float = 10.0) -> AsyncClient:
        """Return a lightkube ``AsyncClient`` for this identity; the caller closes it."""
        return AsyncClient(
            self.kubeconfig(namespace),
            timeout=httpx_timeout(timeout),
            trust_env=False,
        )


def httpx_timeout(seconds: float) -> httpx2.Timeout:
    """Return the timeout object lightkube's HTTP layer expects (it uses the httpx2 fork)."""
    return httpx2.Timeout(seconds)


@dataclass
class _Proc:
    """A started child process and the log file its output goes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        """Return the end of the process log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "<no log>"


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
        self._etcd: _Proc | None = None
        self._apiserver: _Proc | None = None
        self._etcd_client_url = ""
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
            proc: _Proc | None = getattr(self, attr)
            if proc is not None:
                try:
                    _terminate(proc, grace)
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
            _terminate(proc, grace)

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
            proc = self._spawn("kube-apiserver", self._apiserver_command(), attempt)
            self._apiserver = proc
            try:
                self._wait_ready(proc)
            except KubeHarnessError:
                self._apiserver = None
                _terminate(proc)
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
                spec = _review_spec(user, policy[0])
                _wait_until(
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
        wd = self.workdir
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slicewise-test-ca")])
        now = dt.datetime.now(dt.UTC)
        validity = (now - dt.timedelta(hours=1), now + dt.timedelta(days=2))
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.DNSName("localhost"),
                        x509.DNSName("kubernetes.default.svc"),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        (wd / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
        (wd / "serving.crt").write_bytes(cert.public_bytes(pem))
        _write_private(wd / "serving.key", _key_pem(key))
        # Service-account tokens are signed with RS256 by default, so this key is RSA.
        _write_private(wd / "sa.key", _key_pem(rsa.generate_private_key(65537, 2048)))

        self._next_identity = 0
        self._pool_tokens = {
            f"user-{i}": secrets.token_urlsafe(32) for i in range(1, self._identity_pool + 1)
        }
        lines = [f'{self.admin_token},{ADMIN_USER},uid-admin,"system:masters"']
        lines += [
            f'{tok},{user},uid-{user},"{POOL_GROUP}"' for user, tok in self._pool_tokens.items()
        ]
        _write_private(wd / "tokens.csv", ("\n".join(lines) + "\n").encode())

    def _start_etcd(self) -> None:
        """Start etcd with a private data dir and wait for its /health."""
        assert self._etcd_binary is not None
        for attempt in range(3):
            client_port, peer_port = free_port(), free_port()
            client_url = f"http://127.0.0.1:{client_port}"
            peer_url = f"http://127.0.0.1:{peer_port}"
            data_dir = self.workdir / "etcd-data"
            shutil.rmtree(data_dir, ignore_errors=True)
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
            proc = self._spawn("etcd", command, attempt)
            self._etcd = proc
            self._etcd_client_url = client_url
            try:
                _wait_until(
                    functools.partial(_etcd_healthy, client_url),
                    self._startup_timeout,
                    "etcd did not become healthy",
                    proc,
                )
            except KubeHarnessError:
                self._etcd = None
                _terminate(proc)
                if "address already in use" in proc.log_tail() and attempt < 2:
                    continue
                raise
            return

    def _apiserver_command(self) -> list[str]:
        """Command line of kube-apiserver 1.20 for this harness."""
        assert self._apiserver_binary is not None
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

    def _spawn(self, name: str, command: list[str], attempt: int) -> _Proc:
        """Start ``command`` in its own process group with output to a log file."""
        log_path = self.workdir / f"{name}.{attempt}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "KUBE"))}
        # Ask the kernel to SIGKILL the child if this (main) thread dies without stop(), so an
        # aborted test run leaves nothing behind; only safe when the main thread spawns it.
        if threading.current_thread() is threading.main_thread() and shutil.which("setpriv"):
            command = ["setpriv", "--pdeathsig", "KILL", "--", *command]
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,  # own process group, so stop() can kill all of it
            )
        return _Proc(name, popen, log_path)

    def _wait_ready(self, proc: _Proc) -> None:
        """Poll ``/readyz`` as admin until it answers 200."""
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        with httpx.Client(verify=ctx, headers=headers, timeout=5.0, trust_env=False) as http:

            def ready() -> bool:
                try:
                    return http.get(f"{self.server_url}/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            _wait_until(ready, self._startup_timeout, "kube-apiserver did not become ready", proc)

            # /readyz does not cover the bootstrap controller, which creates the "default"
            # namespace a moment later; tests create Pods there right away.
            def default_namespace() -> bool:
                url = f"{self.server_url}/api/v1/namespaces/default"
                try:
                    return http.get(url).status_code == 200
                except httpx.TransportError:
                    return False

            _wait_until(
                default_namespace, self._startup_timeout, "no default namespace appeared", proc
            )


def live_processes_of(pids: Sequence[int], workdir: Path) -> list[str]:
    """Describe live processes that are among ``pids`` or mention ``workdir`` on their command line.

    Reads /proc directly: a harness that stopped cleanly leaves this list empty.
    """
    found: list[str] = []
    marker = str(workdir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # the process exited while we looked
        if state in {"Z", "X"}:
            continue  # already dead; only its exit status is left for the parent
        if int(entry.name) in pids or marker in cmdline:
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
    return found


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


def _review_spec(user: str, rule: PolicyRule) -> SubjectAccessReviewSpec:
    """A SubjectAccessReview spec asking whether ``user`` may do what ``rule`` grants first."""
    verb = rule.verbs[0] if rule.verbs else "get"
    if rule.nonResourceURLs:
        return SubjectAccessReviewSpec(
            user=user,
            groups=[POOL_GROUP],
            nonResourceAttributes=NonResourceAttributes(
                path=rule.nonResourceURLs[0].rstrip("*"), verb=verb
            ),
        )
    return SubjectAccessReviewSpec(
        user=user,
        groups=[POOL_GROUP],
        resourceAttributes=ResourceAttributes(
            group=(rule.apiGroups or [""])[0].replace("*", ""),
            resource=(rule.resources or ["*"])[0],
            name=rule.resourceNames[0] if rule.resourceNames else None,
            verb=verb,
        ),
    )


def _etcd_healthy(client_url: str) -> bool:
    """True once etcd answers its /health endpoint with health true."""
    try:
        response = httpx.get(f"{client_url}/health", timeout=2.0, trust_env=False)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and response.json().get("health") == "true"


def _wait_until(
    condition: Callable[[], bool],
    timeout: float,
    message: str,
    proc: _Proc | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until true; fail early if ``proc`` exits, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.popen.poll() is not None:
            raise KubeHarnessError(
                f"{message}: {proc.name} exited with code {proc.popen.returncode}\n"
                f"{proc.log_tail()}"
            )
        if condition():
            return
        if time.monotonic() >= deadline:
            tail = f"\n{proc.log_tail()}" if proc is not None else ""
            raise KubeHarnessError(f"{message} within {timeout:.0f}s{tail}")
        time.sleep(interval)


def _terminate(proc: _Proc, grace: float = 20.0) -> None:
    """SIGTERM the process group, wait, SIGKILL it after ``grace`` seconds, and reap it."""
    pgid = proc.popen.pid  # start_new_session made the child a group leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        proc.popen.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired as exc:
            raise KubeHarnessError(f"{proc.name} (pid {pgid}) survived SIGKILL") from exc


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    """PEM (PKCS#8, unencrypted) encoding of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


__all__ = [
    "BUILD_SCRIPT",
    "KubeApiServer",
    "KubeHarnessError",
    "KubeIdentity",
    "cached_apiserver_binary",
    "ensure_apiserver_binary",
    "find_etcd",
    "live_processes_of",
    "running_kube_apiserver",
]
