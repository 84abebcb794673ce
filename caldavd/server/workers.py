"""The master's worker processes: listening sockets, start, supervision, stop.

Why processes: a request costs ~150-200 µs of Python on one core (bench
README), so one process per core is how a host uses its cores.  Why the master
binds and the workers inherit: a worker never needs the privileges or the
configuration checks of binding, a bind failure is one clear error before any
worker starts, and a worker that dies is replaced without the address ever
being closed.

Why one SO_REUSEPORT socket per worker per address rather than one shared
accept socket: with a shared socket every idle worker wakes for each new
connection and the kernel hands most of them to whichever worker happens to
be waiting (LIFO wake-ups), so one worker ends up with most connections while
the others idle; with SO_REUSEPORT the kernel spreads connections evenly
over the sockets of the group by a hash of the connection, each worker
accepting only from its own queue.  The master keeps its copy of every socket:
connections that arrive for a worker that is being restarted wait in that
socket's queue and are served by its successor instead of being reset.  At
shutdown the master closes its copies first, so once the workers close theirs
new connections are refused rather than queued with nobody to accept them.

A worker that exits on its own is restarted after a pause that doubles while
it keeps dying soon after starting (``BACKOFF_FIRST`` up to ``BACKOFF_MAX``),
with a log line naming it and how it ended.  On the first start every worker
must say it is ready within ``READY_SECONDS``; one that exits first stops the
host (its own error message is on the shared standard error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from caldavd.cli.common import describe_exit
from caldavd.cli.errors import ToolError
from caldavd.config import Config
from caldavd.server.worker import BACKLOG, CLOSE_SECONDS, READY, SHUTDOWN_GRACE

log = logging.getLogger("caldavd")

READY_SECONDS = 120.0
STOP_SECONDS = SHUTDOWN_GRACE + CLOSE_SECONDS + 5.0  # then SIGKILL
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
STABLE_SECONDS = 30.0  # a worker that ran this long starts its next backoff afresh


def listening_sockets(config: Config, workers: int) -> list[list[socket.socket]]:
    """For each worker, one SO_REUSEPORT socket on every address and port (HTTPPort,
    SSLPort) it serves."""
    hosts: Sequence[str | None] = config.BindAddresses or (None,)
    ports = [port for port in (config.HTTPPort, config.SSLPort) if port]
    addresses = [info for port in ports for host in hosts for info in _resolve(host, port)]
    per_worker: list[list[socket.socket]] = []
    try:
        for _ in range(workers):
            per_worker.append([])
            for family, address in addresses:
                per_worker[-1].append(_bound(family, address))
    except ToolError:
        close_all(sock for group in per_worker for sock in group)
        raise
    for family, address in addresses:
        scheme = "https" if address[1] == config.SSLPort else "http"
        log.info("listening on %s://%s/", scheme, _shown(family, address))
    return per_worker


def close_all(sockets: Iterable[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def _resolve(host: str | None, port: int) -> list[tuple[int, tuple[str, int]]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ToolError(f"BindAddresses: cannot resolve {host!r}: {exc.strerror}") from None
    unique: dict[tuple[int, tuple[str, int]], None] = {}
    for family, _, _, _, sockaddr in infos:
        unique[(int(family), (str(sockaddr[0]), int(sockaddr[1])))] = None
    return list(unique)


def _bound(family: int, address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ToolError(f"cannot listen on {_shown(family, address)}: "
                        f"{exc.strerror or exc}") from None
    return sock


def _shown(family: int, address: tuple[str, int]) -> str:
    host = f"[{address[0]}]" if family == socket.AF_INET6 else address[0]
    return f"{host}:{address[1]}"


@dataclass
class Worker:
    """One worker slot: its sockets outlive the processes that serve them."""

    index: int
    sockets: list[socket.socket]
    proc: asyncio.subprocess.Process | None = None
    backoff: float = BACKOFF_FIRST
    started_at: float = 0.0
    ready: socket.socket | None = field(default=None, repr=False)


class Supervisor:
    """Starts the workers, restarts the ones that die, stops them all on ``stop``."""

    def __init__(self, sockets: list[list[socket.socket]], worker_args: Sequence[str]) -> None:
        self.workers = [Worker(i + 1, group) for i, group in enumerate(sockets)]
        self._args = list(worker_args)
        self._stopping = False

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; then stop every worker.  Raises ToolError when a
        worker fails to start the first time."""
        try:
            if not await self._started_unless_stopped(stop):
                return
            log.info("%d worker process(es) ready", len(self.workers))
            watchers = [asyncio.create_task(self._watch(w, stop)) for w in self.workers]
            await stop.wait()
            log.info("stopping: finishing in-flight requests")
            self._stopping = True
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        finally:
            self._stopping = True
            await self._stop_all()

    def signal_all(self, sig: signal.Signals) -> None:
        for worker in self.workers:
            if worker.proc is not None and worker.proc.returncode is None:
                worker.proc.send_signal(sig)

    async def _started_unless_stopped(self, stop: asyncio.Event) -> bool:
        """Every worker ready (True), or ``stop`` set first (False): a SIGTERM during
        start-up need not wait for slow workers."""
        starting = asyncio.ensure_future(self._start_all())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not starting.done():
                starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting  # its ToolError, if any, goes up from here
            return True
        return False

    async def _start_all(self) -> None:
        for worker in self.workers:
            await self._spawn(worker)
        results = await asyncio.gather(*(self._wait_ready(w) for w in self.workers))
        for worker, ready in zip(self.workers, results, strict=True):
            if not ready:
                raise ToolError(await self._start_failure(worker))

    async def _start_failure(self, worker: Worker) -> str:
        if worker.proc is None:
            raise RuntimeError("worker.proc is not set")
        with contextlib.suppress(TimeoutError):  # it closed the socket: its status follows
            await asyncio.wait_for(worker.proc.wait(), 5.0)
        status = worker.proc.returncode
        how = (describe_exit(status) if status is not None
               else f"no 'ready' within {READY_SECONDS:.0f} s")
        return f"worker {worker.index} did not start ({how}); see its messages above"

    async def _spawn(self, worker: Worker) -> None:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        fds = [s.fileno() for s in worker.sockets]
        args = [*self._args, "--index", str(worker.index), "--ready", str(theirs.fileno()),
                *(f"--listen={fd}" for fd in fds)]
        loop = asyncio.get_running_loop()
        try:
            worker.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "caldavd.server.worker", *args,
                stdin=asyncio.subprocess.DEVNULL, pass_fds=[*fds, theirs.fileno()])
        except OSError as exc:
            ours.close()
            raise ToolError(f"cannot start worker {worker.index}: "
                            f"{exc.strerror or exc}") from None
        finally:
            theirs.close()
        worker.ready, worker.started_at = ours, loop.time()
        log.info("worker %d started (pid %d)", worker.index, worker.proc.pid)

    async def _wait_ready(self, worker: Worker) -> bool:
        """True once the worker said so; False when it exited or took too long."""
        if worker.ready is None:
            raise RuntimeError("worker.ready is not set")
        loop = asyncio.get_running_loop()
        try:
            said = await asyncio.wait_for(loop.sock_recv(worker.ready, len(READY)),
                                          READY_SECONDS)
        except (TimeoutError, OSError):
            said = b""
        finally:
            worker.ready.close()
            worker.ready = None
        return said == READY

    async def _watch(self, worker: Worker, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if worker.proc is None:
                raise RuntimeError("worker.proc is not set")
            status = await worker.proc.wait()
            if self._stopping:
                return
            pause = self._next_backoff(worker)
            log.error("worker %d (pid %d) ended unexpectedly (%s); restarting in %.1f s",
                      worker.index, worker.proc.pid, describe_exit(status), pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            if stop.is_set():
                return
            try:
                await self._spawn(worker)
            except ToolError as exc:
                log.error("%s", exc)  # the old, dead process stays: the loop tries again
                continue
            if await self._wait_ready(worker):
                log.info("worker %d ready again (pid %d)", worker.index, worker.proc.pid)

    def _next_backoff(self, worker: Worker) -> float:
        lived = asyncio.get_running_loop().time() - worker.started_at
        if lived >= STABLE_SECONDS:
            worker.backoff = BACKOFF_FIRST
        pause = worker.backoff
        worker.backoff = min(BACKOFF_MAX, worker.backoff * 2)
        return pause

    async def _stop_all(self) -> None:
        """Master's sockets closed first (new connections refused once the workers
        close theirs), then SIGTERM, a bounded wait, SIGKILL for the stragglers."""
        close_all(sock for w in self.workers for sock in w.sockets)
        self.signal_all(signal.SIGTERM)
        running = [w.proc for w in self.workers if w.proc is not None]
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), STOP_SECONDS)
        except TimeoutError:
            log.error("workers still running %.0f s after SIGTERM; killing them", STOP_SECONDS)
            self.signal_all(signal.SIGKILL)
            await asyncio.gather(*(p.wait() for p in running))
        for worker in self.workers:
            # Killed by our SIGTERM: stopped before it could handle it (during start-up).
            if worker.proc is not None and worker.proc.returncode not in (0, None,
                                                                          -signal.SIGTERM):
                log.warning("worker %d ended with %s", worker.index,
                            describe_exit(worker.proc.returncode))
