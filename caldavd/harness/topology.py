"""The cluster's topology as data: what every host shares, what differs per host, the
shared plist, each host's command line and the load balancer's configuration
(docker-compose.yml must agree; tests/cluster/test_compose.py)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caldavd.tools.stats import HOSTS_FILE

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
        self.host_list = self.root / HOSTS_FILE
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

