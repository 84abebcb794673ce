"""Worker processes (issue #5): several per host, supervised, back-pressure, clean stops.

Every test runs the real caldavd against the real test PostgreSQL and talks
HTTP over loopback.  Requests are held open deterministically: a PUT sent with
``Expect: 100-continue`` is inside its handler once the server answers
"100 Continue" (aiohttp writes it right before calling the handler, with no
wait in between), and it stays there until the test sends the body.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from caldavd.server.worker import BACKLOG
from tests.conftest import PgDatabase, free_port
from tests.functional.conftest import event
from tests.tools.helpers import external_db_plist, run_tool, start_tool
from tests.tools.processes import (
    answers,
    children,
    command_of,
    established_ports,
    kill_leftovers,
    propfind_status,
    running,
    wait_until,
)
from tests.tools.test_serve import USER01, _request, _terminate, _wait_for_health

HOST = "127.0.0.1"


@dataclass
class Host:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> list[int]:
        return [pid for pid in children(self.proc.pid)
                if "caldavd.server.worker" in command_of(pid)]

    def propfind(self) -> int:
        return propfind_status(HOST, self.port, "/", USER01)


class StartHost(Protocol):
    """The ``start_host`` fixture: a caldavd host with these options and plist settings."""

    def __call__(self, *args: str, **settings: object) -> Host: ...


@pytest.fixture
def start_host(pg_database: PgDatabase, tmp_path: Path) -> Iterator[StartHost]:
    started: list[tuple[Host, list[int]]] = []

    def start(*args: str, **settings: object) -> Host:
        port = free_port()
        plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=port,
                                  BindAddresses=[HOST], MaxDBConnectionsPerPool=3, **settings)
        assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
        log = tmp_path / f"caldavd-{len(started)}.out"
        host = Host(start_tool("caldavd", ["-f", str(plist), *args], log), port, log)
        _wait_for_health(host.proc, f"http://{HOST}:{port}/", log)
        wait_until(lambda: "worker process(es) ready" in log.read_text(), what="all workers")
        started.append((host, host.workers()))
        return host

    yield start
    for host, pids in started:
        if host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()
        kill_leftovers(pids + host.workers())


class HeldPut:
    """A PUT whose body the test sends when it chooses."""

    def __init__(self, port: int, name: str) -> None:
        self.body = event(name).encode()
        self.sock = socket.create_connection((HOST, port), timeout=60)
        self.sock.sendall(
            f"PUT /calendars/users/user01/calendar/{name}.ics HTTP/1.1\r\n"
            f"Host: localhost\r\nAuthorization: {USER01}\r\n"
            f"Content-Type: text/calendar\r\nContent-Length: {len(self.body)}\r\n"
            f"Expect: 100-continue\r\n\r\n".encode())
        self._buffer = b""

    def in_handler(self) -> None:
        """Returns once the server has read the headers and runs the handler."""
        assert self._head().startswith(b"HTTP/1.1 100"), "expected 100 Continue"

    def send(self, part: slice) -> None:
        self.sock.sendall(self.body[part])

    def status(self) -> int:
        """Sends what is left of the body; the final status."""
        head = self._head()
        self.sock.close()
        return int(head.split()[1])

    def _head(self) -> bytes:
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed; got {self._buffer!r}"
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        return head


def _answering_workers(host: Host, connections: int = 16) -> set[int]:
    """Which workers hold connections when ``connections`` clients stay connected."""
    conns = [http.client.HTTPConnection(HOST, host.port, timeout=30) for _ in range(connections)]
    try:
        for conn in conns:
            conn.request("PROPFIND", "/", headers={"Depth": "0", "Authorization": USER01})
            response = conn.getresponse()
            response.read()
            assert response.status == 207
        mine = {conn.sock.getsockname()[1] for conn in conns}
        return {pid for pid in host.workers() if established_ports(pid, host.port) & mine}
    finally:
        for conn in conns:
            conn.close()


def listen_backlogs(port: int) -> list[int]:
    """The accept-queue length (``ss``'s Send-Q) of each socket listening on ``port``."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True,
                         text=True, check=True).stdout
    return [int(line.split()[2]) for line in out.splitlines()]


def test_two_workers_serve_and_stop_everything(start_host: StartHost) -> None:
    host = start_host(MultiProcessCount=2)
    workers = host.workers()
    assert len(workers) == 2, host.log.read_text()
    assert host.propfind() == 207
    assert _answering_workers(host) == set(workers), "the kernel spreads connections"
    # One SO_REUSEPORT socket per worker, each with the master's queue (aiohttp's
    # default of 128 would be set again by asyncio's listen() otherwise).
    assert listen_backlogs(host.port) == [BACKLOG, BACKLOG]
    assert _terminate(host.proc, host.log) == 0, host.log.read_text()
    assert not any(running(pid) for pid in workers), "a worker outlived its master"
    assert not answers(HOST, host.port)
    text = host.log.read_text()
    assert ("MultiProcessCount x MaxDBConnectionsPerPool = 2 x 3 = 6 database connections "
            "per host") in text
    assert "2 worker process(es) ready" in text


def test_killed_worker_is_restarted_and_the_host_keeps_answering(start_host: StartHost) -> None:
    host = start_host(MultiProcessCount=2)
    victim, survivor = host.workers()
    os.kill(victim, signal.SIGKILL)
    # Connections that meet the dead worker's socket wait for its successor.
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: host.propfind(), range(16))) == [207] * 16
    wait_until(lambda: len(host.workers()) == 2 and victim not in host.workers(),
               what="a new worker")
    assert survivor in host.workers()
    wait_until(lambda: "ready again" in host.log.read_text(), what="the restart logged")
    assert f"(pid {victim}) ended unexpectedly (killed by SIGKILL)" in host.log.read_text()
    assert _answering_workers(host) == set(host.workers())
    assert _terminate(host.proc, host.log) == 0, host.log.read_text()


def test_refuses_more_connections_than_postgres_allows(pg_database: PgDatabase,
                                                       tmp_path: Path) -> None:
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=free_port(),
                              MultiProcessCount=2, MaxDBConnectionsPerPool=150)
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    result = run_tool("caldavd", "-f", str(plist), timeout=60)
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("caldavd: error: MultiProcessCount x MaxDBConnectionsPerPool "
                           "= 2 x 150 = 300"), result.stderr
    assert "max_connections is 200" in last, last
    assert "caldavd.server.worker" not in result.stderr


def test_max_requests_queues_then_refuses_with_503(start_host: StartHost, tmp_path: Path) -> None:
    """MaxRequests and LogRoot come from -o: the workers get the master's overrides."""
    logs = tmp_path / "h2" / "logs"
    host = start_host("-o", "MaxRequests=1", "-o", f"LogRoot={logs}",
                      MultiProcessCount=1, MaxRequests=80)
    admitted = HeldPut(host.port, "admitted")
    admitted.in_handler()
    queued = HeldPut(host.port, "queued")
    queued.in_handler()  # past 100 Continue, waiting at the gate
    conn = http.client.HTTPConnection(HOST, host.port, timeout=30)
    conn.request("PROPFIND", "/", headers={"Depth": "0", "Authorization": USER01})
    refused = conn.getresponse()
    assert refused.status == 503
    assert refused.getheader("Retry-After", "").isdigit()
    assert b"busy" in refused.read()
    conn.close()
    assert answers(HOST, host.port)
    assert _request(f"http://{HOST}:{host.port}/health")[0] == 200, "/health is not limited"
    admitted.send(slice(None))
    assert admitted.status() == 201
    queued.send(slice(None))
    assert queued.status() == 201
    assert host.propfind() == 207
    assert _terminate(host.proc, host.log) == 0
    access = (logs / "access.log").read_text()
    assert '"PUT /calendars/users/user01/calendar/admitted.ics HTTP/1.1" 201' in access
    assert '"PROPFIND / HTTP/1.1" 503' in access


def test_sigterm_lets_a_request_in_flight_finish_and_refuses_new_ones(
        start_host: StartHost) -> None:
    host = start_host(MultiProcessCount=2)
    workers = host.workers()
    held = HeldPut(host.port, "inflight")
    held.in_handler()
    held.send(slice(0, 40))
    host.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: not answers(HOST, host.port), what="new connections refused")
    assert host.proc.poll() is None, "the master waits for the request in flight"
    held.send(slice(40, None))
    assert held.status() == 201
    assert host.proc.wait(timeout=60) == 0, host.log.read_text()
    assert not any(running(pid) for pid in workers)


def test_a_worker_that_cannot_start_stops_the_host(pg_database: PgDatabase,
                                                   tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=free_port(),
                              BindAddresses=[HOST], MultiProcessCount=2,
                              MaxDBConnectionsPerPool=3, LogRoot=str(blocker))
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    result = run_tool("caldavd", "-f", str(plist), timeout=120)
    assert result.returncode == 1, result.stderr
    assert "caldavd-worker: error: AccessLogFile" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "caldavd: error: worker "), result.stderr
    assert "did not start (exit status 1)" in result.stderr


def test_workers_do_not_outlive_a_killed_master(start_host: StartHost) -> None:
    host = start_host(MultiProcessCount=2)
    workers = host.workers()
    host.proc.kill()
    host.proc.wait()
    wait_until(lambda: not any(running(pid) for pid in workers), what="workers gone")


def test_sigterm_while_workers_start(pg_database: PgDatabase, tmp_path: Path) -> None:
    """Whenever during start-up the signal comes, everything stops and the exit is clean."""
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=free_port(),
                              BindAddresses=[HOST], MultiProcessCount=2,
                              MaxDBConnectionsPerPool=3)
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    log = tmp_path / "caldavd.out"
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    try:
        wait_until(lambda: "worker 2 started" in log.read_text(), what="workers starting")
        workers = [pid for pid in children(proc.pid)
                   if "caldavd.server.worker" in command_of(pid)]
        assert _terminate(proc, log) == 0, log.read_text()
        assert not any(running(pid) for pid in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
