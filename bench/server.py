"""A throwaway PostgreSQL cluster and caldavd, as an operator runs them.

The cluster keeps PostgreSQL's durable defaults (fsync and synchronous_commit
on): PUT numbers include a real commit.  caldavd runs as ``caldavd -f plist``
against that cluster (``DBType postgres``) after ``caldavd-bootstrap-db``,
pinned to its own core with ``taskset`` when there is one, with the response
cache off.  The response-cache operations are measured against more caldavd
processes on the same database and core (``variant_servers``): one with the
in-process cache, one with a memcached started here on the load core.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import plistlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from caldavd.cache.servers import user_option
from caldavd.store.postgres.cluster import SUPERUSER, PostgresCluster

REPO = Path(__file__).resolve().parents[1]
ACCOUNTS = REPO / "conf" / "auth" / "accounts.xml"
DATABASE = "caldav"


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The cores this machine lets us use, read before the harness narrows its own
# mask to the load core (``bench.run``): a child started with ``taskset`` may
# use any of them.  Checking the harness's current mask instead once left every
# process (caldavd included) on the load core.
MACHINE_CPUS = frozenset(os.sched_getaffinity(0))


def taskset_prefix(cpu: int | None) -> list[str]:
    """``taskset -c CPU`` when pinning is possible, else nothing."""
    if cpu is None or shutil.which("taskset") is None:
        return []
    if cpu not in MACHINE_CPUS:
        return []
    return ["taskset", "-c", str(cpu)]


def check_pinned(pid: int, cpu: int | None, what: str) -> None:
    """Refuse to measure when ``pid`` does not run on the core it was given."""
    if cpu is None or not taskset_prefix(cpu):
        return
    actual = os.sched_getaffinity(pid)
    if actual != {cpu}:
        raise BenchError(f"{what} (pid {pid}) runs on cores {sorted(actual)}, not {cpu}")


@dataclass
class Server:
    url: str
    pid: int                # caldavd's master; its workers are its children
    root: Path
    cluster: PostgresCluster
    log: Path
    variant: str = "uncached"
    plist: Path | None = None
    memcached_pid: int | None = None
    memcached_port: int | None = None


# caldavd processes the response-cache operations need, by ``bench.ops`` variant:
# the plist's settings (cache off) plus these ``-o`` items.
VARIANTS = ("uncached", "local", "memcached")


def variant_overrides(variant: str, memcached_port: int | None = None) -> list[str]:
    """``caldavd -o`` items turning the base plist into ``variant``."""
    if variant == "uncached":
        return []
    if variant == "local":
        return ["EnableResponseCache=true"]
    if variant == "memcached":
        if memcached_port is None:
            raise BenchError("the memcached variant needs a memcached port")
        pool = "Memcached.Pools.Default."
        return ["EnableResponseCache=true", f"{pool}ClientEnabled=true",
                f"{pool}ServerEnabled=false", f"{pool}BindAddress=127.0.0.1",
                f"{pool}Port={memcached_port}"]
    raise BenchError(f"unknown server variant {variant!r}; known: {', '.join(VARIANTS)}")


def _write_plist(root: Path, dsn: str, port: int) -> Path:
    settings = {
        "ServerRoot": str(root),
        "DBType": "postgres",
        "DSN": dsn,
        "HTTPPort": port,
        "BindAddresses": ["127.0.0.1"],
        "MultiProcessCount": 1,
        # Off: propfind0 and propfind1 measure computing the answer (the targets of
        # issue 3); the *_cached and *_memcached operations use variant servers.
        "EnableResponseCache": False,
        "Memcached": {"Pools": {"Default": {"ClientEnabled": False, "ServerEnabled": False}}},
        "DirectoryService": {"type": "xml", "params": {"xmlFile": str(ACCOUNTS)}},
    }
    path = root / "caldavd.plist"
    path.write_bytes(plistlib.dumps(settings))
    return path


async def _create_database(cluster: PostgresCluster) -> None:
    conn = await asyncpg.connect(**cluster.connect_kwargs("postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


async def _vacuum_analyze(cluster: PostgresCluster) -> None:
    conn = await asyncpg.connect(**cluster.connect_kwargs(DATABASE))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def vacuum_analyze(cluster: PostgresCluster) -> None:
    """What autovacuum does within a minute or so of a bulk load: planner statistics."""
    asyncio.run(_vacuum_analyze(cluster))


def _tool(module: str, args: Sequence[str], prefix: Sequence[str] = ()) -> list[str]:
    return [*prefix, sys.executable, "-m", module, *args]


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path,
                  limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"caldavd exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BenchError(f"caldavd did not become healthy in {limit:.0f}s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tree(pid: int) -> list[int]:
    """``pid`` and its children (caldavd's workers, PostgreSQL's backends)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids.extend(int(c) for c in (task / "children").read_text().split())
    return pids


def pin_tree(pid: int, cpus: set[int]) -> None:
    """Pin ``pid`` and its current children (later forks inherit the mask)."""
    for one in tree(pid):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(one, cpus)


def postmaster_pid(cluster: PostgresCluster) -> int | None:
    try:
        return int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _start_caldavd(plist: Path, overrides: Sequence[str], cpu: int | None, log_level: str,
                   log: Path) -> subprocess.Popen[bytes]:
    args = ["-f", str(plist)]
    for item in overrides:
        args += ["-o", item]
    with log.open("wb") as sink:
        return subprocess.Popen(
            _tool("caldavd.server.serve", [*args, "--log-level", log_level],
                  taskset_prefix(cpu)),
            stdout=sink, stderr=subprocess.STDOUT)


def process_state(pid: int, log: Path, lines: int = 5) -> str:
    """Whether caldavd ``pid`` still runs (with its workers), and its log's last lines:
    for the message of a run that failed."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        state = f"pid {pid} is running (state {stat}, workers {', '.join(children) or 'none'})"
    except OSError:
        state = f"pid {pid} is gone"
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        tail = []
    return state + "".join(f"\n  {line}" for line in tail)


def memcached_argv(port: int) -> list[str]:
    found = shutil.which("memcached")
    if found is None:
        raise BenchError("memcached is not installed (apt-get install memcached)")
    return [found, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64", *user_option()]


def _wait_port(proc: subprocess.Popen[bytes], port: int, what: str, limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        time.sleep(0.1)
    raise BenchError(f"{what} did not listen on 127.0.0.1:{port} within {limit:.0f}s")


@contextlib.contextmanager
def variant_servers(base: Server, variants: Sequence[str], *, server_cpu: int | None,
                    load_cpu: int | None, log_level: str) -> Iterator[dict[str, Server]]:
    """``base`` and one more caldavd per other variant, same plist, database and core
    (each idles while another is measured); memcached, when one needs it, runs on the
    load core.  The mapping is by variant."""
    servers = {base.variant: base}
    procs: list[subprocess.Popen[bytes]] = []
    memcached: subprocess.Popen[bytes] | None = None
    memcached_port: int | None = None
    assert base.plist is not None
    try:
        if "memcached" in variants:
            memcached_port = free_port()
            memcached = subprocess.Popen([*taskset_prefix(load_cpu),
                                          *memcached_argv(memcached_port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _wait_port(memcached, memcached_port, "memcached")
        for variant in variants:
            if variant in servers:
                continue
            port = free_port()
            own = base.root / variant
            log = base.root / f"caldavd-{variant}.out"
            overrides = [f"HTTPPort={port}", f"RunRoot={own / 'run'}", f"LogRoot={own / 'logs'}",
                         *variant_overrides(variant, memcached_port)]
            proc = _start_caldavd(base.plist, overrides, server_cpu, log_level, log)
            procs.append(proc)
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(proc, url, log)
            check_pinned(proc.pid, server_cpu, f"caldavd ({variant})")
            servers[variant] = Server(
                url=url, pid=proc.pid, root=base.root, cluster=base.cluster, log=log,
                variant=variant, plist=base.plist,
                memcached_pid=memcached.pid if memcached and variant == "memcached" else None,
                memcached_port=memcached_port if variant == "memcached" else None)
        yield servers
    finally:
        for proc in procs:
            _stop(proc)
        if memcached is not None:
            _stop(memcached)


@contextlib.contextmanager
def running_server(*, server_cpu: int | None, db_cpus: set[int] | None,
                   log_level: str, keep: bool = False) -> Iterator[Server]:
    """Cluster up, schema applied, caldavd healthy; everything torn down afterwards."""
    root = Path(tempfile.mkdtemp(prefix="cdb-", dir="/tmp"))
    root.chmod(0o755)
    cluster = PostgresCluster(
        data_dir=root / "data", socket_dir=root / "s", log_file=root / "postgres.log",
        port=free_port(), max_connections=100,
        # Durable defaults (fsync, synchronous_commit, full_page_writes stay on);
        # statements slower than 50 ms are logged (postgres.log, see --keep).
        options=("shared_buffers=256MB", "log_min_duration_statement=50"),
    )
    proc: subprocess.Popen[bytes] | None = None
    try:
        cluster.ensure_initialised()
        cluster.start()
        postmaster = postmaster_pid(cluster)
        if db_cpus and postmaster is not None:
            pin_tree(postmaster, db_cpus)
        asyncio.run(_create_database(cluster))
        dsn = f"postgresql://{SUPERUSER}@/{DATABASE}?host={cluster.socket_dir}&port={cluster.port}"
        port = free_port()
        plist = _write_plist(root, dsn, port)
        boot = subprocess.run(_tool("caldavd.tools.bootstrap_db", ["-f", str(plist)]),
                              capture_output=True, text=True, timeout=300, check=False)
        if boot.returncode != 0:
            raise BenchError(f"caldavd-bootstrap-db failed:\n{boot.stderr}")
        log = root / "caldavd.out"
        proc = _start_caldavd(plist, [], server_cpu, log_level, log)
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(proc, url, log)
        check_pinned(proc.pid, server_cpu, "caldavd")
        yield Server(url=url, pid=proc.pid, root=root, cluster=cluster, log=log, plist=plist)
    except BenchError:
        keep = True  # caldavd's output and postgres.log say what went wrong
        raise
    finally:
        if proc is not None:
            _stop(proc)
        with contextlib.suppress(Exception):
            cluster.stop(mode="fast")
        if keep:
            print(f"bench: kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
