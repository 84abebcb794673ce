"""The processes caldavd-cluster starts: spawning, reaping, stopping, ports, health."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from caldavd.cli.common import describe_exit
from caldavd.harness.topology import ClusterFailed

# -- processes ---------------------------------------------------------------------------


# The processes this program started, kept so that they are reaped (and their exit
# status known) here; the ones an earlier run started are init's children.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def alive(pid: int) -> bool:
    """True while ``pid`` runs (and is not a zombie)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def read_pid(path: Path, *markers: str) -> int | None:
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
    return pid if all(m in cmdline for m in markers) and alive(pid) else None


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def terminate(pids: Sequence[int], grace: float) -> None:
    """SIGTERM to each, then after ``grace`` SIGKILL to the process group of any left."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid in pids:
        if wait_gone(pid, max(0.0, deadline - time.monotonic())):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        wait_gone(pid, 10)


def spawn(argv: Sequence[str], log: Path, pid_file: Path) -> int:
    """Start ``argv`` in its own session (it outlives this program), output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _CHILDREN[proc.pid] = proc
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def port_free(address: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def port_open(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ClusterFailed(f"{name} not found on PATH; install it, e.g. "
                            f"'apt-get install {package}'")
    return path


def last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def how_it_ended(pid: int | None) -> str:
    child = _CHILDREN.get(pid or 0)
    if child is None or child.returncode is None:
        return ""
    return f" ({describe_exit(child.returncode)})"


def died(what: str, log: Path, pid: int | None) -> ClusterFailed:
    ended = how_it_ended(pid)
    last = last_line(log)
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


def memcached_stats(port: int) -> dict[str, int]:
    """The integer counters memcached on 127.0.0.1:``port`` answers to ``stats``
    (cmd_get, get_hits, curr_connections, ...)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    stats = {}
    for line in data.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STAT" and parts[2].isdigit():
            stats[parts[1]] = int(parts[2])
    return stats
