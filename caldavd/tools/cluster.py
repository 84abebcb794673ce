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
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from caldavd.cache.servers import user_option
from caldavd.store.postgres.cluster import SUPERUSER, ClusterError, PostgresCluster, find_pg_bin
from caldavd.tools.common import describe_exit

# -- the topology, as data (docker-compose.yml must agree; tests/cluster/test_compose.py) --

HEALTH_PATH = "/health"
DATABASE = "caldav"
DATABASE_USER = "caldavd"
# The seed: memcached's lifecycle is managed outside caldavd and every host is a client.
MEMCACHED_POOL: dict[str, Any] = {
    "ClientEnabled": True,
    "ServerEnabled": False,
    "HandleCacheTypes": ["Default"],
}
# Keys every host reads from the one shared plist; never set per host.
IDENTICAL_KEYS = ("DBType", "DSN", "ServerHostName", "HTTPPort", "AttachmentsRoot",
                  "Memcached", "DirectoryService", "MultiProcessCount", "BehindTLSProxy")
# What differs between hosts on one machine, given on each host's command line.
# NodeName: in docker-compose.yml each container's host name, which is its default.
PER_HOST_KEYS = ("BindAddresses", "RunRoot", "LogRoot", "NodeName")
# The load balancer's backend: round-robin, health from /health, a dead host out
# after two failed checks half a second apart, and a retry on another host only
# when the connection itself failed (a request that reached a host is never resent).
HAPROXY_BACKEND = (
    "balance roundrobin",
    f"option httpchk GET {HEALTH_PATH}",
    "http-check expect status 200",
    "retries 3",
    "retry-on conn-failure",
    "option redispatch 1",
    "default-server inter 500ms fastinter 250ms downinter 1s fall 2 rise 2",
)
HAPROXY_BACKEND_NAME = "caldavd"
# The frontend: TLS ends at haproxy (its "bind ... ssl crt" line), and every request
# tells caldavd how the client came (BehindTLSProxy: caldavd builds https URLs then).
HAPROXY_FRONTEND = (
    "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
    "http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
    f"default_backend {HAPROXY_BACKEND_NAME}",
)
HAPROXY_DEFAULTS = (
    "mode http",
    "log global",
    "option httplog",
    # Clients' addresses reach caldavd; and a forwarded request is never "from loopback"
    # (caldavd.http.statsview: /stats and /metrics trust local clients).
    "option forwardfor",
    "timeout connect 2s",
    "timeout client 60s",
    "timeout server 60s",
    "timeout check 2s",
)

# Seconds a stopping caldavd host gets before SIGKILL (it drains in-flight requests).
STOP_GRACE = 45.0
START_TIMEOUT = 60.0
# /health answers in a row, per worker, that make a host ready (see wait_host_healthy).
HEALTH_STREAK_PER_WORKER = 4


class ClusterFailed(Exception):
    """Something could not be started or stopped; the message names it and its log."""


# -- settings and layout ---------------------------------------------------------------


@dataclass
class Settings:
    """What ``start`` was asked for; saved as DIR/cluster.json for ``stop`` and ``status``."""

    hosts: int = 2
    workers: int = 1
    port: int = 8008
    tls_port: int = 0  # haproxy's HTTPS port (a self-signed certificate); 0 = none
    listen: str = "127.0.0.1"
    host_port: int = 8008
    pg_port: int = 15432
    memcached_port: int = 11311
    server_name: str = "localhost"
    # False: PostgreSQL without fsync (for tests: quicker, and a crash may lose data).
    durable: bool = True
    password: str = field(default_factory=lambda: secrets.token_hex(12))

    def host_address(self, number: int) -> str:
        """Host 1 listens on 127.0.0.2, host 2 on 127.0.0.3, ..."""
        return f"127.0.0.{number + 1}"

    @property
    def dsn(self) -> str:
        return (f"postgresql://{DATABASE_USER}:{self.password}@127.0.0.1:{self.pg_port}/"
                f"{DATABASE}")


@dataclass
class Host:
    """One caldavd host: its number, address and (optionally) its own extra settings."""

    number: int
    address: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"caldavd{self.number}"


class Layout:
    """Where everything lives under the cluster directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.conf = self.root / "conf"
        self.plist = self.conf / "caldavd.plist"
        self.accounts = self.conf / "auth" / "accounts.xml"
        self.attachments = self.root / "attachments"
        self.run = self.root / "run"
        self.logs = self.root / "logs"
        self.state = self.root / "cluster.json"
        self.haproxy_cfg = self.conf / "haproxy.cfg"
        self.tls_pem = self.conf / "haproxy.pem"  # certificate and key, for haproxy
        self.tls_certificate = self.conf / "tls-certificate.pem"  # for clients to trust
        self.haproxy_socket = self.run / "haproxy.sock"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def host_dir(self, host: Host) -> Path:
        return self.root / "hosts" / str(host.number)

    def host_log(self, host: Host) -> Path:
        return self.host_dir(host) / "logs" / "caldavd.log"


# -- the shared plist and per-host arguments ----------------------------------------------


def shared_plist(layout: Layout, settings: Settings) -> dict[str, Any]:
    """The one caldavd.plist every host reads."""
    return {
        "ServerRoot": str(layout.root),
        "RunRoot": str(layout.run),
        "LogRoot": str(layout.logs),
        "ConfigRoot": str(layout.conf),
        "DBType": "postgres",
        "DSN": settings.dsn,
        "ServerHostName": settings.server_name,
        "HTTPPort": settings.host_port,
        "AttachmentsRoot": str(layout.attachments),
        "MultiProcessCount": settings.workers,
        "Memcached": {"Pools": {"Default": {
            **MEMCACHED_POOL, "BindAddress": "127.0.0.1", "Port": settings.memcached_port}}},
        "DirectoryService": {"type": "xml", "params": {"xmlFile": str(layout.accounts)}},
        "BehindTLSProxy": True,
    }


def host_settings(layout: Layout, host: Host) -> dict[str, Any]:
    """What differs on ``host``: its address, its run and log directories, and its extras
    (dotted keys as ``caldavd -o`` takes them, e.g. ``Memcached.Pools.Default.Port``)."""
    directory = layout.host_dir(host)
    return {"BindAddresses": [host.address], "RunRoot": str(directory / "run"),
            "LogRoot": str(directory / "logs"), "NodeName": host.name, **host.extra}


def host_arguments(layout: Layout, host: Host) -> list[str]:
    """caldavd's arguments for ``host``: the shared plist, then ``-o`` for what differs."""
    args = ["-f", str(layout.plist)]
    for key, value in host_settings(layout, host).items():
        args += ["-o", f"{key}={_override_text(value)}"]
    return args


def _override_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def haproxy_config(layout: Layout, settings: Settings, hosts: Sequence[Host]) -> str:
    servers = [f"    server {h.name} {h.address}:{settings.host_port} check" for h in hosts]
    return "\n".join([
        "global",
        f"    stats socket {layout.haproxy_socket} mode 600 level admin",
        "    log stdout format raw local0",
        "",
        "defaults",
        *(f"    {line}" for line in HAPROXY_DEFAULTS),
        "",
        "frontend caldav",
        f"    bind {settings.listen}:{settings.port}",
        *([f"    bind {settings.listen}:{settings.tls_port} ssl crt {layout.tls_pem}"]
          if settings.tls_port else []),
        *(f"    {line}" for line in HAPROXY_FRONTEND),
        "",
        f"backend {HAPROXY_BACKEND_NAME}",
        *(f"    {line}" for line in HAPROXY_BACKEND),
        *servers,
        "",
    ])


# -- processes ---------------------------------------------------------------------------


# The processes this program started, kept so that they are reaped (and their exit
# status known) here; the ones an earlier run started are init's children.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (and is not a zombie)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _read_pid(path: Path, *markers: str) -> int | None:
    """The pid in ``path`` if that process is alive and its command line has every marker
    (a stale pid file may name a pid the system has since given to another process)."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return pid if all(m in cmdline for m in markers) and _alive(pid) else None


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def _terminate(pids: Sequence[int], grace: float) -> None:
    """SIGTERM to each, then after ``grace`` SIGKILL to the process group of any left."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid in pids:
        if _wait_gone(pid, max(0.0, deadline - time.monotonic())):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _wait_gone(pid, 10)


def _spawn(argv: Sequence[str], log: Path, pid_file: Path) -> int:
    """Start ``argv`` in its own session (it outlives this program), output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _CHILDREN[proc.pid] = proc
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def _port_free(address: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def _port_open(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ClusterFailed(f"{name} not found on PATH; install it, e.g. "
                            f"'apt-get install {package}'")
    return path


def _last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _how_it_ended(pid: int | None) -> str:
    child = _CHILDREN.get(pid or 0)
    if child is None or child.returncode is None:
        return ""
    return f" ({describe_exit(child.returncode)})"


def _died(what: str, log: Path, pid: int | None) -> ClusterFailed:
    ended = _how_it_ended(pid)
    last = _last_line(log)
    return ClusterFailed(f"{what} exited during start-up{ended}"
                         f"{': ' + last if last else ''}; see {log}")


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status of a GET of ``url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


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
        if not _port_free("127.0.0.1", self.pg.port):
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
        if not _port_free("127.0.0.1", port):
            raise ClusterFailed(f"memcached: port 127.0.0.1:{port} is already in use; choose "
                                "another with --memcached-port")
        log = self.layout.log_file("memcached")
        pid = _spawn([_binary("memcached", "memcached"), "-l", "127.0.0.1", "-p", str(port),
                      "-U", "0", "-m", "64", *user_option()], log,
                     self.layout.pid_file("memcached"))
        self._wait(lambda: _port_open("127.0.0.1", port), "memcached", log, pid)

    def kill_memcached(self) -> None:
        pid = self.pid("memcached", "memcached")
        if pid:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
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
            _wait_gone(pid, 10)
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
        return _read_pid(self.layout.pid_file(name), marker, self._own_marker(name))

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
            if pid is None or (pid and not _alive(pid)):
                raise _died(what, log, pid)
            time.sleep(0.1)
        raise ClusterFailed(f"{what} did not become ready within {START_TIMEOUT:.0f} s; "
                            f"see {log}")

    def _pid_state(self, name: str, marker: str) -> str:
        pid = self.pid(name, marker)
        return f"running (pid {pid})" if pid else "stopped"

    def _stop_parts(self, names: Sequence[str], marker: str, grace: float) -> None:
        """Stop these parts together (each gets ``grace``) and drop their pid files."""
        _terminate([pid for name in names if (pid := self.pid(name, marker))], grace)
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
        _binary("memcached", "memcached")
        _binary("haproxy", "haproxy")
        for host in self.hosts:
            if not self.pid(host.name, "caldavd") and not _port_free(host.address,
                                                                     self.settings.host_port):
                raise ClusterFailed(f"{host.name}: port {host.address}:{self.settings.host_port}"
                                    " is already in use; choose another with --host-port")
        for port, option in ((self.settings.port, "--port"),
                             (self.settings.tls_port, "--tls-port")):
            if port and not self.pid("haproxy", "haproxy") and not _port_free(
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
            sample = resources.files("caldavd.tools") / "sample_accounts.xml"
            layout.accounts.write_bytes(sample.read_bytes())
        layout.plist.write_bytes(plistlib.dumps(shared_plist(layout, self.settings)))
        layout.state.write_text(json.dumps(asdict(self.settings), indent=2) + "\n")
        layout.state.chmod(0o600)

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
        argv = [sys.executable, "-m", "caldavd.tools.serve",
                *host_arguments(self.layout, host)]
        self._spawned[host.name] = _spawn(argv, self.layout.host_log(host),
                                          self.layout.pid_file(host.name))

    def _start_haproxy(self) -> None:
        if self.pid("haproxy", "haproxy"):
            return
        haproxy = _binary("haproxy", "haproxy")
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
        pid = _spawn([haproxy, "-db", "-f", str(cfg)], log, self.layout.pid_file("haproxy"))
        self._wait(self.layout.haproxy_socket.exists, "haproxy", log, pid)


def self_signed_certificate(layout: Layout, server_name: str) -> None:
    """haproxy's certificate for ``server_name`` (and 127.0.0.1), made by openssl."""
    openssl = _binary("openssl", "openssl")
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
