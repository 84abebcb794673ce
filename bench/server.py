"""A throwaway PostgreSQL cluster and one caldavd process, as an operator runs them.

The cluster keeps PostgreSQL's durable defaults (fsync and synchronous_commit
on): PUT numbers include a real commit.  caldavd runs as ``caldavd -f plist``
against that cluster (``DBType postgres``) after ``caldavd-bootstrap-db``,
pinned to its own core with ``taskset`` when there is one.
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
    pid: int
    root: Path
    cluster: PostgresCluster
    log: Path


def _write_plist(root: Path, dsn: str, port: int) -> Path:
    settings = {
        "ServerRoot": str(root),
        "DBType": "postgres",
        "DSN": dsn,
        "HTTPPort": port,
        "BindAddresses": ["127.0.0.1"],
        "MultiProcessCount": 1,
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


def vacuum_analyze(server: Server) -> None:
    """What autovacuum does within a minute or so of a bulk load: planner statistics."""
    asyncio.run(_vacuum_analyze(server.cluster))


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


def pin_tree(pid: int, cpus: set[int]) -> None:
    """Pin ``pid`` and its current children (later forks inherit the mask)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            pids.extend(int(c) for c in children)
    for one in pids:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(one, cpus)


def _postmaster_pid(cluster: PostgresCluster) -> int | None:
    try:
        return int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


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
        postmaster = _postmaster_pid(cluster)
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
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                _tool("caldavd.tools.serve", ["-f", str(plist), "--log-level", log_level],
                      taskset_prefix(server_cpu)),
                stdout=sink, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(proc, url, log)
        check_pinned(proc.pid, server_cpu, "caldavd")
        yield Server(url=url, pid=proc.pid, root=root, cluster=cluster, log=log)
    finally:
        if proc is not None:
            _stop(proc)
        with contextlib.suppress(Exception):
            cluster.stop(mode="fast")
        if keep:
            print(f"bench: kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
