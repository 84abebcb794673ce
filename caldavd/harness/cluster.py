"""caldavd-cluster: the multi-host deployment on one machine, for trying it and for tests.

    caldavd-cluster start  [--dir DIR] [--hosts N] [--workers N] [--port PORT]
                           [--tls-port PORT]
    caldavd-cluster stop   [--dir DIR]
    caldavd-cluster status [--dir DIR]

``start`` brings up, in this order: one memcached (managed here, not by
caldavd: its pool has ServerEnabled false), one PostgreSQL listening on
127.0.0.1 with the schema applied by ``caldavd-bootstrap-db --create``, N
caldavd hosts on 127.0.0.2, 127.0.0.3, ... that all read the same
``DIR/conf/caldavd.plist``, and haproxy on one port doing round-robin over
them with ``GET /health`` checks (with ``--tls-port``, haproxy also serves HTTPS
with a self-signed certificate: TLS ends there, and X-Forwarded-Proto tells caldavd
how each request came).  ``stop`` goes the other way: haproxy, the hosts,
PostgreSQL, memcached last.  Both are idempotent.

The tests in tests/cluster drive this module's ``Cluster`` class, so they
exercise what the script runs.  ``docker-compose.yml`` describes the same
topology; the settings both must share are the data at the top of this file.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import plistlib
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from caldavd.cache.servers import user_option
from caldavd.harness.processes import (
    alive,
    binary,
    died,
    http_status,
    port_free,
    port_open,
    read_pid,
    spawn,
    terminate,
    wait_gone,
)
from caldavd.harness.topology import (
    HAPROXY_BACKEND_NAME,
    HEALTH_PATH,
    HEALTH_STREAK_PER_WORKER,
    START_TIMEOUT,
    STOP_GRACE,
    ClusterFailed,
    Host,
    Layout,
    Settings,
    haproxy_config,
    host_arguments,
    shared_plist,
)
from caldavd.store.postgres.cluster import SUPERUSER, ClusterError, PostgresCluster, find_pg_bin

# -- the parts -----------------------------------------------------------------------------


class Database:
    """One throwaway PostgreSQL on 127.0.0.1 (run as an unprivileged user when we are root).

    The superuser connects over the unix socket (trust); caldavd connects over TCP
    as its own role with a password, as it would to a database server.
    """

    def __init__(self, root: Path, port: int, log: Path, *, durable: bool = True) -> None:
        self.log = log
        self.pg = PostgresCluster(
            data_dir=root / "pg", socket_dir=root / "run" / "pg", log_file=log,
            bin_dir=find_pg_bin(), port=port, listen_address="127.0.0.1",
            max_connections=200,
            options=() if durable else ("fsync=off", "synchronous_commit=off",
                                        "full_page_writes=off"))

    @property
    def admin_dsn(self) -> str:
        return (f"postgresql://{SUPERUSER}@/postgres?host={self.pg.socket_dir}"
                f"&port={self.pg.port}")

    def running(self) -> bool:
        return self.pg.is_running()

    def start(self) -> None:
        if self.running():
            return
        if not port_free("127.0.0.1", self.pg.port):
            raise ClusterFailed(f"PostgreSQL: port 127.0.0.1:{self.pg.port} is already in use; "
                                "choose another with --pg-port")
        self._check_reachable()
        try:
            self.pg.ensure_initialised()
            self.pg.start()
        except ClusterError as exc:
            raise ClusterFailed(f"PostgreSQL: {exc}") from None

    def _check_reachable(self) -> None:
        """As root, PostgreSQL runs as another user, who must get to the data directory."""
        if not self.pg.os_user:
            return
        entry = pwd.getpwnam(self.pg.os_user)
        for parent in self.pg.data_dir.parents:
            st = parent.stat()
            bit = 0o100 if st.st_uid == entry.pw_uid else (
                0o010 if st.st_gid == entry.pw_gid else 0o001)
            if not st.st_mode & bit:
                raise ClusterFailed(
                    f"PostgreSQL runs as OS user {self.pg.os_user!r} (caldavd-cluster runs as "
                    f"root) and cannot reach {self.pg.data_dir}: {parent} is not searchable by "
                    "it; choose a --dir it can reach, e.g. under /var/lib or /tmp")

    def bootstrap(self, plist: Path) -> None:
        """Role, database and schema, with the operator's tool (a no-op when at head)."""
        argv = [sys.executable, "-m", "caldavd.tools.bootstrap_db", "-f", str(plist),
                "--create", "--admin-dsn", self.admin_dsn]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ClusterFailed("caldavd-bootstrap-db failed: "
                                + (detail[-1] if detail else f"exit {result.returncode}"))

    def stop(self, mode: str = "fast") -> None:
        try:
            self.pg.stop(mode=mode)
        except ClusterError as exc:
            raise ClusterFailed(f"PostgreSQL: {exc}") from None


class Cluster:
    """The whole deployment in one directory; ``caldavd-cluster`` and the tests both use it."""

    def __init__(self, directory: Path, settings: Settings | None = None) -> None:
        self.layout = Layout(Path(directory))
        self.settings = settings or self.saved_settings() or Settings()
        self.hosts = [Host(n, self.settings.host_address(n))
                      for n in range(1, self.settings.hosts + 1)]
        self.database = Database(self.layout.root, self.settings.pg_port,
                                 self.layout.log_file("postgres"),
                                 durable=self.settings.durable)
        # Pids this object started: right after fork /proc still shows our own command line.
        self._spawned: dict[str, int] = {}

    # -- addresses --

    @property
    def haproxy_url(self) -> str:
        return f"http://{self.settings.listen}:{self.settings.port}"

    @property
    def haproxy_tls_url(self) -> str:
        """haproxy's HTTPS address (``tls_port``); its certificate is ``tls_certificate``."""
        return f"https://{self.settings.server_name}:{self.settings.tls_port}"

    def host_url(self, host: Host | int) -> str:
        address = host.address if isinstance(host, Host) else self.host(host).address
        return f"http://{address}:{self.settings.host_port}"

    def host(self, number: int) -> Host:
        for host in self.hosts:
            if host.number == number:
                return host
        raise KeyError(number)

    # -- start and stop --

    def start(self) -> None:
        """Start every part that is not running; returns once haproxy serves every host."""
        self._check_prerequisites()
        self._prepare()
        self.start_memcached()
        self.database.start()
        self.database.bootstrap(self.layout.plist)
        for host in self.hosts:
            self._spawn_host(host)
        for host in self.hosts:
            self.wait_host_healthy(host)
        self._start_haproxy()
        self.wait_haproxy_up([h.name for h in self.hosts])

    def stop(self) -> None:
        """haproxy, then the hosts, then PostgreSQL, then memcached; quiet when already down."""
        self._stop_parts(["haproxy"], "haproxy", 10)
        self._stop_parts([h.name for h in self._known_hosts()], "caldavd", STOP_GRACE)
        if self.database.pg.is_initialised:
            self.database.stop()
        self._stop_parts(["memcached"], "memcached", 10)
        for stale in [*self.layout.run.glob("*.pid"), self.layout.haproxy_socket]:
            stale.unlink(missing_ok=True)

    def status(self) -> list[tuple[str, str]]:
        """(part, state) for every part, in start order."""
        s = self.settings
        rows = [(f"memcached 127.0.0.1:{s.memcached_port}",
                 self._pid_state("memcached", "memcached")),
                (f"postgresql 127.0.0.1:{s.pg_port}",
                 "running" if self.database.running() else "stopped")]
        states = self.haproxy_states() if self.pid("haproxy", "haproxy") else {}
        for host in self._known_hosts():
            state = self._pid_state(host.name, "caldavd")
            if state.startswith("running"):
                code = http_status(self.host_url(host) + HEALTH_PATH)
                state += f", {HEALTH_PATH} {code or 'no answer'}"
                state += f", haproxy {states.get(host.name, '-')}"
            rows.append((f"{host.name} {self.host_url(host)}", state))
        rows.append((f"haproxy {self.haproxy_url}", self._pid_state("haproxy", "haproxy")))
        return rows

    # -- parts the tests act on --

    def start_memcached(self) -> None:
        if self.pid("memcached", "memcached"):
            return
        port = self.settings.memcached_port
        if not port_free("127.0.0.1", port):
            raise ClusterFailed(f"memcached: port 127.0.0.1:{port} is already in use; choose "
                                "another with --memcached-port")
        log = self.layout.log_file("memcached")
        pid = spawn([binary("memcached", "memcached"), "-l", "127.0.0.1", "-p", str(port),
                      "-U", "0", "-m", "64", *user_option()], log,
                     self.layout.pid_file("memcached"))
        self._wait(lambda: port_open("127.0.0.1", port), "memcached", log, pid)

    def kill_memcached(self) -> None:
        pid = self.pid("memcached", "memcached")
        if pid:
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 10)
        self.layout.pid_file("memcached").unlink(missing_ok=True)

    def pause_memcached(self, paused: bool = True) -> None:
        """SIGSTOP (or SIGCONT): memcached stops answering but keeps what it holds."""
        pid = self.pid("memcached", "memcached")
        if pid:
            os.kill(pid, signal.SIGSTOP if paused else signal.SIGCONT)

    def restart_memcached(self) -> None:
        self.kill_memcached()
        self.start_memcached()

    def kill_host(self, number: int) -> None:
        """SIGKILL a host's whole process group: a crash, no draining."""
        host = self.host(number)
        pid = self.pid(host.name, "caldavd")
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            wait_gone(pid, 10)
        self.layout.pid_file(host.name).unlink(missing_ok=True)

    def stop_host(self, number: int) -> None:
        self._stop_parts([self.host(number).name], "caldavd", STOP_GRACE)

    def start_host(self, number: int) -> None:
        host = self.host(number)
        self._spawn_host(host)
        self.wait_host_healthy(host)

    def add_host(self, extra: Mapping[str, Any], *, wait_healthy: bool = True) -> Host:
        """Start one more host (with ``extra`` settings) and add it to haproxy at run time."""
        number = max(h.number for h in self.hosts) + 1
        host = Host(number, self.settings.host_address(number), dict(extra))
        self.hosts.append(host)
        self._spawn_host(host)
        if wait_healthy:
            self.wait_host_healthy(host)
        where = f"{HAPROXY_BACKEND_NAME}/{host.name}"
        self._haproxy_change(f"add server {where} {host.address}:{self.settings.host_port} "
                             "check", "New server registered.")
        self._haproxy_change(f"enable health {where}")
        self._haproxy_change(f"enable server {where}")
        return host

    def remove_host(self, number: int) -> None:
        """Take a host out of haproxy and stop it (the reverse of ``add_host``)."""
        host = self.host(number)
        where = f"{HAPROXY_BACKEND_NAME}/{host.name}"
        self._haproxy_change(f"disable server {where}")
        self._haproxy_change(f"shutdown sessions server {where}")
        self._haproxy_change(f"del server {where}", "Server deleted.")
        self.stop_host(number)
        self.hosts.remove(host)

    # -- haproxy's view --

    def haproxy_command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.layout.haproxy_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def _haproxy_change(self, command: str, success: str = "", seconds: float = 10) -> None:
        """Run an admin ``command``; haproxy answers ``success`` (or nothing) when it worked.
        A server that still has connections is tried again until ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while True:
            answer = self.haproxy_command(command).strip()
            if answer == success:
                return
            if "still" not in answer or time.monotonic() > deadline:
                raise ClusterFailed(f"haproxy refused {command!r}: {answer}")
            time.sleep(0.1)

    def haproxy_states(self) -> dict[str, str]:
        """Each backend server's status as haproxy sees it (UP, DOWN, MAINT, ...)."""
        text = self.haproxy_command("show stat").lstrip("# ")
        return {row["svname"]: row["status"] for row in csv.DictReader(io.StringIO(text))
                if row.get("pxname") == HAPROXY_BACKEND_NAME
                and row["svname"] not in ("FRONTEND", "BACKEND")}

    def wait_haproxy(self, names: Sequence[str], state: str, seconds: float = 30) -> None:
        """Until haproxy reports every server in ``names`` with a status starting ``state``."""
        deadline = time.monotonic() + seconds
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.haproxy_states()
            if all(states.get(n, "").startswith(state) for n in names):
                return
            time.sleep(0.1)
        raise ClusterFailed(f"haproxy did not report {', '.join(names)} {state} within "
                            f"{seconds:.0f} s (it says {states}); see "
                            f"{self.layout.log_file('haproxy')}")

    def wait_haproxy_up(self, names: Sequence[str]) -> None:
        """Until haproxy has every server in ``names`` UP and /health through it is 200 on
        twice as many requests in a row (round-robin: each server answers at least once)."""
        self.wait_haproxy(names, "UP")
        url = self.haproxy_url + HEALTH_PATH
        self._wait(lambda: all(http_status(url) == 200 for _ in range(2 * len(names))),
                   "haproxy", self.layout.log_file("haproxy"))

    # -- internals --

    def pid(self, name: str, marker: str = "") -> int | None:
        """The running process of part ``name`` (memcached, haproxy, caldavdN), if any."""
        return read_pid(self.layout.pid_file(name), marker, self._own_marker(name))

    def _own_marker(self, name: str) -> str:
        """What only this cluster's process ``name`` has on its command line."""
        if name == "memcached":
            return f"-p {self.settings.memcached_port} "
        if name == "haproxy":
            return str(self.layout.haproxy_cfg)
        number = name[len("caldavd"):]
        return f"BindAddresses={self.settings.host_address(int(number))} " \
            if number.isdigit() else str(self.layout.root)

    def wait_host_healthy(self, host: Host) -> None:
        """Until every worker of ``host`` answers /health 200.

        The master listens for all its workers before they are ready, and the kernel
        spreads connections over them, so a connection to a worker still starting waits
        for it: a run of prompt 200s on fresh connections, several per worker, means
        they all answer (one ready worker alone would pass a single check).
        """
        url = self.host_url(host) + HEALTH_PATH
        pid = self._spawned.get(host.name) or self.pid(host.name, "caldavd")
        streak = HEALTH_STREAK_PER_WORKER * (self.settings.workers or os.cpu_count() or 1)

        def all_workers_answer() -> bool:
            return all(http_status(url, timeout=1.0) == 200 for _ in range(streak))

        self._wait(all_workers_answer, host.name, self.layout.host_log(host), pid)

    def _wait(self, ready: Callable[[], bool], what: str, log: Path,
              pid: int | None = 0) -> None:
        """Until ``ready()``; fails early when process ``pid`` (0: none to watch) exits."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return
            if pid is None or (pid and not alive(pid)):
                raise died(what, log, pid)
            time.sleep(0.1)
        raise ClusterFailed(f"{what} did not become ready within {START_TIMEOUT:.0f} s; "
                            f"see {log}")

    def _pid_state(self, name: str, marker: str) -> str:
        pid = self.pid(name, marker)
        return f"running (pid {pid})" if pid else "stopped"

    def _stop_parts(self, names: Sequence[str], marker: str, grace: float) -> None:
        """Stop these parts together (each gets ``grace``) and drop their pid files."""
        terminate([pid for name in names if (pid := self.pid(name, marker))], grace)
        for name in names:
            self.layout.pid_file(name).unlink(missing_ok=True)

    def _known_hosts(self) -> list[Host]:
        """The configured hosts plus any added at run time that left a pid file."""
        known = {h.name for h in self.hosts}
        numbers = [int(p.stem[len("caldavd"):]) for p in self.layout.run.glob("caldavd*.pid")
                   if p.stem[len("caldavd"):].isdigit() and p.stem not in known]
        extra = [Host(n, self.settings.host_address(n)) for n in sorted(numbers)]
        return self.hosts + extra

    def _check_prerequisites(self) -> None:
        binary("memcached", "memcached")
        binary("haproxy", "haproxy")
        for host in self.hosts:
            if not self.pid(host.name, "caldavd") and not port_free(host.address,
                                                                     self.settings.host_port):
                raise ClusterFailed(f"{host.name}: port {host.address}:{self.settings.host_port}"
                                    " is already in use; choose another with --host-port")
        for port, option in ((self.settings.port, "--port"),
                             (self.settings.tls_port, "--tls-port")):
            if port and not self.pid("haproxy", "haproxy") and not port_free(
                    self.settings.listen, port):
                raise ClusterFailed(f"haproxy: port {self.settings.listen}:{port} "
                                    f"is already in use; choose another with {option}")

    def _prepare(self) -> None:
        layout = self.layout
        for directory in (layout.root, layout.conf, layout.accounts.parent, layout.attachments,
                          layout.run, layout.logs):
            directory.mkdir(parents=True, exist_ok=True)
        layout.root.chmod(0o755)  # PostgreSQL's unprivileged user must get through
        if not layout.accounts.exists():
            # conf/auth/accounts.xml, shipped in the package (it is linked there).
            sample = resources.files("caldavd.harness") / "sample_accounts.xml"
            layout.accounts.write_bytes(sample.read_bytes())
        layout.plist.write_bytes(plistlib.dumps(shared_plist(layout, self.settings)))
        layout.state.write_text(json.dumps(asdict(self.settings), indent=2) + "\n")
        layout.state.chmod(0o600)
        # The hosts' URLs for the operator tools (caldavd-stats --cluster), which do not
        # import this harness: the one contract between them is this file.
        urls = [self.host_url(host) for host in self.hosts]
        layout.host_list.write_text(json.dumps({"hosts": urls}, indent=2) + "\n")

    def saved_settings(self) -> Settings | None:
        """What the last ``start`` in this directory was asked for, if any."""
        try:
            return Settings(**json.loads(self.layout.state.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _spawn_host(self, host: Host) -> None:
        running = self.pid(host.name, "caldavd")
        if running:
            self._spawned[host.name] = running
            return
        for sub in ("run", "logs"):
            (self.layout.host_dir(host) / sub).mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "caldavd.server.serve",
                *host_arguments(self.layout, host)]
        self._spawned[host.name] = spawn(argv, self.layout.host_log(host),
                                          self.layout.pid_file(host.name))

    def _start_haproxy(self) -> None:
        if self.pid("haproxy", "haproxy"):
            return
        haproxy = binary("haproxy", "haproxy")
        if self.settings.tls_port and not self.layout.tls_pem.exists():
            self_signed_certificate(self.layout, self.settings.server_name)
        cfg = self.layout.haproxy_cfg
        cfg.write_text(haproxy_config(self.layout, self.settings, self.hosts))
        check = subprocess.run([haproxy, "-c", "-q", "-f", str(cfg)], capture_output=True,
                               text=True, timeout=30, check=False)
        if check.returncode != 0:
            raise ClusterFailed(f"haproxy rejects {cfg}: "
                                + (check.stderr or check.stdout).strip().replace("\n", " "))
        log = self.layout.log_file("haproxy")
        pid = spawn([haproxy, "-db", "-f", str(cfg)], log, self.layout.pid_file("haproxy"))
        self._wait(self.layout.haproxy_socket.exists, "haproxy", log, pid)


def self_signed_certificate(layout: Layout, server_name: str) -> None:
    """haproxy's certificate for ``server_name`` (and 127.0.0.1), made by openssl."""
    openssl = binary("openssl", "openssl")
    key = layout.conf / "tls-key.pem"
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "825", "-subj", f"/CN={server_name}",
         "-addext", f"subjectAltName=DNS:{server_name},IP:127.0.0.1",
         "-keyout", str(key), "-out", str(layout.tls_certificate)],
        capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise ClusterFailed("openssl could not make haproxy's certificate: "
                            + result.stderr.strip().replace("\n", " "))
    layout.tls_pem.touch(mode=0o600)
    layout.tls_pem.write_bytes(layout.tls_certificate.read_bytes() + key.read_bytes())
    key.unlink()


# -- command line ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="caldavd-cluster",
        description="Run caldavd's multi-host deployment on this machine: PostgreSQL, "
                    "memcached, N caldavd hosts on 127.0.0.2... and haproxy in front.")
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, default=Path("cluster"),
                        help="cluster directory: conf, data, logs, pid files (default ./cluster)")
    parser.add_argument("--hosts", type=int, default=defaults.hosts,
                        help=f"caldavd hosts (default {defaults.hosts})")
    parser.add_argument("--workers", type=int, default=defaults.workers,
                        help=f"MultiProcessCount of each host (default {defaults.workers})")
    parser.add_argument("--port", type=int, default=defaults.port,
                        help=f"haproxy's port on {defaults.listen} (default {defaults.port})")
    parser.add_argument("--tls-port", type=int, default=defaults.tls_port,
                        help="haproxy's HTTPS port on the same address, with a self-signed "
                             "certificate (DIR/conf/tls-certificate.pem); default: no HTTPS")
    parser.add_argument("--host-port", type=int, default=defaults.host_port,
                        help="HTTPPort of every host, each on its own loopback address "
                             f"(default {defaults.host_port})")
    parser.add_argument("--pg-port", type=int, default=defaults.pg_port,
                        help=f"PostgreSQL's port on 127.0.0.1 (default {defaults.pg_port})")
    parser.add_argument("--memcached-port", type=int, default=defaults.memcached_port,
                        help=f"memcached's port on 127.0.0.1 (default {defaults.memcached_port})")
    args = parser.parse_args(argv)
    if args.hosts < 1 or args.hosts > 250:
        parser.error("--hosts must be between 1 and 250")
    if args.workers < 0:
        parser.error("--workers must be 0 (one per core) or more")
    return args


def _settings_from(args: argparse.Namespace, saved: Settings | None) -> Settings:
    settings = Settings(hosts=args.hosts, workers=args.workers, port=args.port,
                        tls_port=args.tls_port, host_port=args.host_port, pg_port=args.pg_port,
                        memcached_port=args.memcached_port)
    if saved is not None:  # the database role keeps its password, the cluster its settings
        settings.password, settings.durable = saved.password, saved.durable
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except (ClusterFailed, ClusterError, OSError) as exc:
        print(f"caldavd-cluster: error: {exc}", file=sys.stderr)
        if args.command == "start":
            print("caldavd-cluster: 'caldavd-cluster stop' stops whatever did start",
                  file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    saved = Cluster(args.dir)
    if args.command == "status":
        for part, state in saved.status():
            print(f"{part:34} {state}")
        return 0
    if args.command == "stop":
        saved.stop()
        print(f"stopped the cluster in {saved.layout.root}")
        return 0
    settings = _settings_from(args, saved.saved_settings())
    running = [p for p, s in saved.status() if s.startswith("running")]
    if running and asdict(settings) != asdict(saved.settings):
        raise ClusterFailed(f"the cluster in {saved.layout.root} is running with other "
                            f"settings ({', '.join(running)}); run 'caldavd-cluster stop' first")
    cluster = Cluster(args.dir, settings)
    cluster.start()
    print(f"caldavd cluster: {cluster.haproxy_url}/ (haproxy) over "
          + ", ".join(cluster.host_url(h) for h in cluster.hosts))
    if settings.tls_port:
        print(f"HTTPS: {cluster.haproxy_tls_url}/ (certificate: "
              f"{cluster.layout.tls_certificate})")
    print(f"accounts user01..user10, password = user name; logs in {cluster.layout.logs} "
          f"and {cluster.layout.root / 'hosts'}/*/logs")
    return 0


@contextlib.contextmanager
def running_cluster(directory: Path, settings: Settings) -> Iterator[Cluster]:
    """A started cluster, stopped again afterwards (for tests and scripts)."""
    cluster = Cluster(directory, settings)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
