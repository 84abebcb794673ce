"""What a process tree looks like from /proc: children, and whether a pid still runs;
and what the servers it runs answer (a port, a PROPFIND, memcached's counters)."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.extend(int(c) for c in (task / "children").read_text().split())
    except OSError:
        return []
    return found


def command_of(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def program_of(pid: int) -> str:
    """The program ``pid`` runs, or "" once it has gone (read once: a process that
    exits between two reads of its command line would otherwise pass the first)."""
    command = command_of(pid)
    return command[0] if command else ""


def running(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_until(condition: Callable[[], object], seconds: float = 30.0,
               what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail after ``seconds`` (generous, not a timing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {seconds} s")


def kill_leftovers(pids: list[int]) -> None:
    for pid in pids:
        if running(pid):
            os.kill(pid, 9)


def propfind_status(host: str, port: int, path: str = "/", auth: str | None = None) -> int:
    """PROPFIND Depth 0 (RFC 4918 §9.1 allows an empty body: allprop) over a new connection."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        headers = {"Depth": "0", **({"Authorization": auth} if auth else {})}
        conn.request("PROPFIND", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def established_ports(pid: int, port: int) -> set[int]:
    """Remote ports of the established TCP connections to local ``port`` that ``pid`` holds."""
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    found: set[int] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                if state == "01" and inode in inodes and int(local.split(":")[1], 16) == port:
                    found.add(int(remote.split(":")[1], 16))
    return found
