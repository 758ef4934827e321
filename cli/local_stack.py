"""`slicewise up`: the whole product on one machine, on embedded defaults; Ctrl-C stops it.

Services (PostgreSQL, Redis, a Kafka-API broker), migrations, topics, a demo tenant with an
admin user, then the gateway with the console, the ingest and spot consumers, the Celery worker
and beat, and a demo cluster: the fleet as real objects in a local control plane, watched by the
real agent and changed by the real executor (`--cluster local`; the default, built on first
start), or an agent replaying a realistic GPU cluster from the shared traces (`--cluster
replay`; what the default falls back to where the control plane cannot be built).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from auth.sealing import KeyEncryptionKey
from cli.stack_chart import ChartError
from cli.stack_cluster import ClusterSetupError, LocalKubeCluster
from cli.stack_cluster_log import ClusterLogRelay
from cli.stack_cluster_mode import LOCAL, ClusterChoice, resolve_cluster
from cli.stack_connection import StackConnection
from cli.stack_demo import (
    DemoCredentials,
    missing_data,
    provision_demo,
    trusted_instruction_keys_json,
)
from cli.stack_logs import LogFollower
from cli.stack_options import StackOptions, add_stack_arguments, stack_options
from cli.stack_processes import (
    InClusterSpec,
    ProcessSpec,
    ReplaySpec,
    StackConfig,
    agent_spec,
    executor_spec,
    gateway_spec,
    replay_spec,
    spot_watcher_spec,
    worker_specs,
)
from cli.stack_supervisor import Supervisor
from cli.stack_topics import ensure_topics
from devstack.kube.errors import KubeHarnessError
from devstack.process import ManagedProcess, ServiceError, free_port, port_open, wait_until
from devstack.services import ServiceStack
from devstack.spot_metadata import SpotInstanceMetadata
from store.migrate import upgrade
from store.roles import DEFAULT_APP_ROLE, app_url

DEFAULT_PORT = 8080
POLL_SECONDS = 0.5


@dataclass
class LocalStack:
    """Services, migrations and the product's processes, started in order, stopped in reverse."""

    options: StackOptions
    run_dir: Path
    services: ServiceStack = field(
        default_factory=lambda: ServiceStack(progress=say, durable_kafka=True)
    )
    credentials: DemoCredentials | None = None
    connection: StackConnection | None = None
    replay_log: LogFollower | None = None
    kube: LocalKubeCluster | None = None
    spot_metadata: SpotInstanceMetadata | None = None
    cluster_log: ClusterLogRelay | None = None
    supervisor: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.run_dir, report=say)

    def start(self) -> None:
        """Start everything and wait until each process with a health URL answers.

        The cluster mode is settled first: it may build the control plane, which on a first
        start takes longer than everything else together.
        """
        choice = self._cluster_choice()
        urls = self.services.start()
        if self.services.kafka is not None:
            # Durable: a broker that crashes comes back with every acknowledged message.
            self.supervisor.watch("Kafka broker", self.services.kafka)
        say("Database: migrating schema")
        upgrade(urls.database_url)
        say("Kafka: creating topics")
        ensure_topics(urls.kafka_bootstrap)
        database = app_url(urls.database_url, DEFAULT_APP_ROLE).render_as_string(
            hide_password=False
        )
        say("Demo: creating tenant, admin user and cluster")
        self.credentials = provision_demo(database)
        config = StackConfig(
            urls=urls,
            app_database_url=database,
            port=self.options.port,
            run_dir=self.run_dir,
            key_encryption_key=KeyEncryptionKey.generate_base64(),
            analysis_interval_seconds=self.options.analysis_interval,
        )
        for spec in [gateway_spec(config), *worker_specs(config)]:
            self._launch(spec)
        self.connection = StackConnection(
            pid=os.getpid(),
            run_dir=str(self.run_dir),
            database_url=urls.database_url,
            app_database_url=database,
            redis_url=urls.redis_url,
            kafka_bootstrap=urls.kafka_bootstrap,
            gateway_url=f"http://127.0.0.1:{self.options.port}",
        )
        if choice is not None and choice.mode == LOCAL:
            self._start_local_cluster(config, self.credentials)
        else:
            self._start_replay(config, self.credentials)

    def _cluster_choice(self) -> ClusterChoice | None:
        """The demo cluster's mode, said with its reason; None without a demo cluster."""
        if not self.options.replay:
            return None
        choice = resolve_cluster(self.options.cluster, self.options.data, say)
        say(f"Cluster mode: {choice.mode} ({choice.reason})")
        return choice

    def _start_local_cluster(self, config: StackConfig, credentials: DemoCredentials) -> None:
        options = self.options
        say("Cluster: local (kube-apiserver, etcd, scheduler, controller-manager, node keeper)")
        if missing := missing_data(options.data):
            raise ClusterSetupError(f"the demo data is missing: {', '.join(map(str, missing))}")
        traces = options.data / "alibaba-genai-v2026"
        self.kube = LocalKubeCluster(self.run_dir)
        self.kube.start(
            traces,
            report=lambda line: say(f"Autoscaler: {line}"),
            mig_parted_config=options.data / "mig" / "mig-parted-config-default.yaml",
        )
        for part in self.kube.supervised_parts():
            # Restarted in place like any other child; the cluster itself stops them.
            self.supervisor.watch(part.name, part)
        say(f"Cluster: admin kubeconfig {self.kube.admin_kubeconfig}")
        say(f"Cluster: {self.kube.seed(options.data, options.cluster_pods)}")
        access = self.kube.grant()
        say(f"Cluster: executor mode {access.executor_mode}, actions {access.allowed_action_types}")
        cluster = InClusterSpec(
            cluster_id=credentials.cluster_id,
            cluster_name=credentials.cluster_name,
            tenant_id=credentials.tenant_id,
            agent_client_id=credentials.agent_client_id,
            agent_client_secret=credentials.agent_client_secret,
            executor_client_id=credentials.executor_client_id,
            executor_client_secret=credentials.executor_client_secret,
            trusted_keys=trusted_instruction_keys_json(config.urls.database_url),
        )
        agent = self._launch(agent_spec(config, cluster, access))
        executor = self._launch(executor_spec(config, cluster, access))
        self.cluster_log = ClusterLogRelay(agent.log_path, executor.log_path)
        self._start_spot_notice(config, cluster)

    def _start_spot_notice(self, config: StackConfig, cluster: InClusterSpec) -> None:
        """Announce the busiest spot node's interruption through its (local) metadata endpoint."""
        if self.kube is None or (node := self.kube.busiest_spot_node()) is None:
            say("Spot notice: off, the local cluster has no spot node")
            return
        self.spot_metadata = SpotInstanceMetadata(
            node.instance_id, node.zone, self.options.notice_after
        )
        self.spot_metadata.start()
        self._launch(spot_watcher_spec(config, cluster, node.name, self.spot_metadata.url))
        say(f"Spot notice: {node.name} in {self.options.notice_after:g} s")

    def _start_replay(self, config: StackConfig, credentials: DemoCredentials) -> None:
        options = self.options
        if not options.replay:
            say("Cluster: none (--no-replay)")
            return
        say("Cluster: replay (an agent replays the traces; no control plane, see --cluster local)")
        if missing := missing_data(options.data):
            say(f"Replay: off, the data is missing: {', '.join(str(p) for p in missing)}")
            say("Replay: pass --data DIR (the folder holding alibaba-gpu-v2023 and the rest)")
            return
        spec = replay_spec(
            config,
            ReplaySpec(
                data=options.data,
                pods=options.pods,
                hours=options.hours,
                step_minutes=options.step_minutes,
                notice_after=options.notice_after,
                cluster_id=credentials.cluster_id,
                cluster_name=credentials.cluster_name,
                client_id=credentials.agent_client_id,
                client_secret=credentials.agent_client_secret,
            ),
        )
        process = self._launch(spec)
        self.replay_log = LogFollower(process.log_path, prefix="replay: ")

    def _launch(self, spec: ProcessSpec) -> ManagedProcess:
        say(f"{spec.name}: starting")
        process = self.supervisor.launch(spec)
        if spec.health_url is not None:
            _wait_healthy(process, spec.health_url)
        say(f"{spec.name}: running (log: {process.log_path})")
        return process

    def watch(self) -> None:
        """Relay the cluster's progress and restart processes that exit, until interrupted."""
        while True:
            if self.replay_log is not None:
                for line in self.replay_log.new_lines():
                    say(f"Replay: {line}")
            if self.cluster_log is not None:
                for line in self.cluster_log.new_lines():
                    say(line)
            self.supervisor.poll()
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        """Stop every process, newest first, then the embedded services."""
        try:
            self.supervisor.stop()
            if self.connection is not None:
                self.connection.withdraw()
        finally:
            try:
                if self.spot_metadata is not None:
                    self.spot_metadata.stop()
                if self.kube is not None:
                    self.kube.stop()
            finally:
                self.services.stop()


def _wait_healthy(process: ManagedProcess, url: str, timeout: float = 60.0) -> None:
    def healthy() -> bool:
        process.check_alive()
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=timeout, what=f"{process.name} at {url}", interval=0.2)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that stop the stack exactly like Ctrl-C does (SIGHUP: its terminal went away)."""


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def say(message: str) -> None:
    """Progress line on stdout, flushed at once; a reader that went away is not an error."""
    try:
        print(f"[slicewise up] {message}", flush=True)
    except BrokenPipeError:
        # `make up | tee up.log`: Ctrl-C ends tee as well. Stopping the stack must go on
        # silently, so further output goes nowhere instead of raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def register(commands: Any) -> None:
    """Add the `up` sub-command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "up", help="start the whole local stack on embedded defaults (Ctrl-C stops it)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=(
            f"gateway port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one if taken; "
            "0: any free port)"
        ),
    )
    add_stack_arguments(parser)
    parser.set_defaults(handler=run)


def _announce(stack: LocalStack, port: int, started: float) -> None:
    url = f"http://127.0.0.1:{port}"
    say(f"ready in {time.monotonic() - started:.1f}s")
    say(f"Gateway: {url}  (health: /healthz, API docs: /docs)")
    say(f"Console: {url}/console")
    if stack.connection is not None:
        for line in stack.connection.service_lines():
            say(line)
        path = stack.connection.publish()
        say(f"Connection details: {path} (`slicewise admin` in this checkout finds them)")
    if stack.credentials is not None:
        creds = stack.credentials
        say(f"Sign in as {creds.email} with password {creds.password} (role {creds.role})")
        path = creds.write(stack.run_dir)
        say(f"Demo credentials (also the demo cluster's executor client): {path}")
    if stack.kube is not None:
        say(f"Cluster: local, admin kubeconfig {stack.kube.admin_kubeconfig}")
    say(f"Run directory: {stack.run_dir}")
    say("Press Ctrl-C to stop everything.")


def _gateway_port(requested: int | None) -> int:
    # 0 asks for any free port, as for bind(2): what tests and parallel stacks want, since
    # two stacks that both try 8080 can each find it free and then race for it.
    if requested is None:
        return DEFAULT_PORT if not port_open("127.0.0.1", DEFAULT_PORT) else free_port()
    return requested or free_port()


def run(args: argparse.Namespace) -> int:
    """Start the stack, print where it listens, relay progress until Ctrl-C or SIGTERM."""
    port = _gateway_port(args.port)
    options = stack_options(args, port)
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, _interrupt)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="slicewise-up-") as run_dir:
        stack = LocalStack(options=options, run_dir=Path(run_dir))
        try:
            stack.start()
            _announce(stack, port, started)
            stack.watch()
        except KeyboardInterrupt:
            say("interrupted")
        except (ServiceError, ClusterSetupError, ChartError, KubeHarnessError) as e:
            say(f"failed: {e}")
            return 1
        finally:
            # A second Ctrl-C (or SIGTERM) must not leave processes behind while we stop.
            for stop_signal in (signal.SIGINT, *_STOP_SIGNALS):
                signal.signal(stop_signal, signal.SIG_IGN)
            stack.stop()
            say("stopped")
    return 0
