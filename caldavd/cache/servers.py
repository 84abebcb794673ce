"""The memcached servers caldavd owns: pools with ClientEnabled and ServerEnabled.

The seed's order is memcached first to start and last to stop, relative to
caldavd and PostgreSQL: ``memcached_servers`` is the outermost context of the
master process, so workers (its clients) are gone before it stops.  Each one
gets its own session, so a Ctrl-C on the terminal reaches the master only and
the order holds then too.  memcached refuses to run as root: as root it is
started with ``-u nobody``.

Start-up is checked, not assumed: a missing program names
``Memcached.memcached``; a port someone else already answers on, a memcached
that exits, or one that does not accept a connection within
``START_SECONDS`` names ``Memcached.Pools.<name>`` with memcached's own
words from its standard error.  One that ends later (killed, crashed) is started
again by the master, with a log line and a pause that doubles while it keeps ending
(``BACKOFF_FIRST`` to ``BACKOFF_MAX``); the workers' caches fail open meanwhile and
use it again once it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from collections import deque
from collections.abc import AsyncIterator

from caldavd.config import Config, MemcachedPool

log = logging.getLogger(__name__)

START_SECONDS = 10.0
STOP_SECONDS = 5.0  # after SIGTERM, before SIGKILL
BACKOFF_FIRST = 0.5  # before restarting a memcached that ended; doubles up to BACKOFF_MAX
BACKOFF_MAX = 10.0
STABLE_SECONDS = 30.0  # one that ran this long starts its next backoff afresh
_POLL_SECONDS = 0.05
_STDERR_LINES = 20


class MemcachedServerError(Exception):
    """A memcached caldavd should run could not be started; the message names the key."""


def owned_pools(config: Config) -> dict[str, MemcachedPool]:
    return {name: pool for name, pool in config.Memcached.Pools.items()
            if pool.ClientEnabled and pool.ServerEnabled}


def user_option() -> list[str]:
    """``-u nobody`` when running as root (memcached refuses to run as root), else nothing."""
    return ["-u", "nobody"] if os.geteuid() == 0 else []


def memcached_command(config: Config, pool: MemcachedPool) -> list[str]:
    name = config.Memcached.memcached
    program = shutil.which(name)
    if program is None:
        where = "no such executable file" if os.sep in name else "not found on PATH"
        raise MemcachedServerError(f"Memcached.memcached: {name!r}: {where} (needed for the "
                                   f"pools with ServerEnabled true)")
    return [program, "-l", pool.BindAddress, "-p", str(pool.Port), "-U", "0", *user_option(),
            *config.Memcached.Options]


@contextlib.asynccontextmanager
async def memcached_servers(config: Config) -> AsyncIterator[None]:
    """Every owned memcached started and answering; all stopped on the way out."""
    started: list[MemcachedServer] = []
    try:
        for name, pool in owned_pools(config).items():
            server = MemcachedServer(name, pool, memcached_command(config, pool))
            await server.start()
            started.append(server)
        yield
    finally:
        for server in reversed(started):
            await server.stop()


def _exit(status: int) -> str:
    return f"killed by signal {-status}" if status < 0 else f"exit status {status}"


class MemcachedServer:
    def __init__(self, name: str, pool: MemcachedPool, command: list[str]) -> None:
        self.key = f"Memcached.Pools.{name}"
        self.where = f"{pool.BindAddress}:{pool.Port}"
        self._pool = pool
        self._command = command
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._started_at = 0.0
        self._backoff = BACKOFF_FIRST

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Started and answering (MemcachedServerError if not); restarted whenever it
        ends until ``stop``."""
        await self._launch()
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if await self._end_process():
            log.info("memcached %s stopped", self.key)

    async def _launch(self) -> None:
        if await self._answers():
            raise MemcachedServerError(
                f"{self.key}: something already listens on {self.where}, but ServerEnabled "
                "says caldavd starts this memcached itself (set ServerEnabled false to use "
                "one run by someone else)")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self._command, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            raise MemcachedServerError(f"Memcached.memcached: cannot run {self._command[0]}: "
                                       f"{exc.strerror or exc}") from None
        if self._proc.stderr is None:
            raise RuntimeError("self._proc.stderr is not set")
        # The stream, not self._proc: stopping clears that, maybe before this task first runs.
        self._reader = asyncio.create_task(self._read_stderr(self._proc.stderr))
        self._started_at = asyncio.get_running_loop().time()
        await self._wait_until_answering()
        log.info("memcached %s started on %s (pid %d)", self.key, self.where, self._proc.pid)

    async def _watch(self) -> None:
        """A memcached that ends on its own is started again, after a pause that doubles
        while it keeps ending soon after it started (the workers' caches fail open
        meanwhile and use it again once it answers)."""
        while True:
            if self._proc is not None:
                status = await self._proc.wait()
                how = f"ended unexpectedly ({_exit(status)})"
                await self._end_process()
            else:
                how = "could not be started again"
            pause = self._next_backoff()
            log.error("memcached %s %s; restarting in %.1f s", self.key, how, pause)
            await asyncio.sleep(pause)
            try:
                await self._launch()
            except MemcachedServerError as exc:
                log.error("%s", exc)

    def _next_backoff(self) -> float:
        if asyncio.get_running_loop().time() - self._started_at >= STABLE_SECONDS:
            self._backoff = BACKOFF_FIRST
        pause, self._backoff = self._backoff, min(BACKOFF_MAX, self._backoff * 2)
        return pause

    async def _end_process(self) -> bool:
        """The process stopped (SIGTERM, then SIGKILL) and its output read; False when
        there was none."""
        proc, self._proc = self._proc, None
        if proc is None:
            return False
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_SECONDS)
            except TimeoutError:
                log.warning("memcached %s ignored SIGTERM for %.0f s; killing it",
                            self.key, STOP_SECONDS)
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            await self._reader
            self._reader = None
        return True

    async def _wait_until_answering(self) -> None:
        if self._proc is None:
            raise RuntimeError("self._proc is not set")
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if self._proc.returncode is not None:
                break
            if await self._answers():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), _POLL_SECONDS)
        status = self._proc.returncode
        await self._end_process()
        what = (f"exited with status {status}" if status is not None else
                f"did not accept connections on {self.where} within {START_SECONDS:.0f} s")
        said = "; ".join(self._stderr) or "nothing on standard error"
        raise MemcachedServerError(f"{self.key}: memcached {what}: {said}")

    async def _answers(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._pool.BindAddress, self._pool.Port), 1.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self._stderr.append(line)
                log.info("memcached %s: %s", self.key, line)
