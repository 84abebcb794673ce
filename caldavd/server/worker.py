"""One caldavd worker process, started by the master (``caldavd.server.serve``).

    python -m caldavd.server.worker -f caldavd.plist [-o KEY=VALUE ...]
        --index N --listen FD [--listen FD ...] --ready FD

The listening sockets are the master's (inherited fds): a worker never binds,
and never starts PostgreSQL or memcached.  It runs the aiohttp application
with its own database pool (``MaxDBConnectionsPerPool``) and says "ready" on
the ``--ready`` socket once it serves.  SIGTERM: stop accepting, let in-flight
requests finish (``SHUTDOWN_GRACE``), exit.  SIGHUP: reopen the access log and
reload the TLS certificate (``caldavd.server.tls``).
SIGINT is ignored: a Ctrl-C on the terminal reaches the whole process group,
and the master, not the terminal, decides when workers stop.  Should the master
die without stopping it, the worker gets SIGTERM from the kernel
(PR_SET_PDEATHSIG), so no worker outlives its master.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

from aiohttp import web

from caldavd.cli.common import add_config_argument, load_or_exit, run_tool
from caldavd.cli.errors import ToolError
from caldavd.config import Config
from caldavd.http.accesslog import access_logger_class
from caldavd.http.keys import STATS
from caldavd.http.limits import REQUEST_GATE
from caldavd.ops.accesslog import AccessLogSink, Rotation
from caldavd.proxy import ProxyDBError
from caldavd.server.app import create_app
from caldavd.server.connections import ConnectionLimits, GuardedRunner
from caldavd.server.tls import ReloadableContext, TLSSite, tls_context

log = logging.getLogger("caldavd")

# Seconds in-flight requests get to finish after SIGTERM.
SHUTDOWN_GRACE = 30.0
# Then aiohttp's shutdown: for what is left (requests not behind the gate, e.g. /health).
CLOSE_SECONDS = 5.0
# Each listening socket's queue of connections not yet accepted.  asyncio calls listen()
# again with the backlog the site passes (aiohttp's default is 128), so it is passed.
BACKLOG = 1024
SWITCH_SECONDS = 0.0001
# Allocations between two collections of the youngest generation (CPython's default: 700).
GC_THRESHOLD = 20_000
READY = b"ready\n"
_PR_SET_PDEATHSIG = 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="caldavd-worker",
                                     description="A caldavd worker (started by caldavd).")
    add_config_argument(parser)
    parser.add_argument("--index", type=int, required=True, help="worker number, from 1")
    parser.add_argument("--listen", type=int, action="append", required=True, metavar="FD",
                        help="an inherited listening socket")
    parser.add_argument("--ready", type=int, required=True, metavar="FD",
                        help="inherited socket to write 'ready' to")
    parser.add_argument("--parent", type=int, required=True, metavar="PID",
                        help="the master's pid")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = parse_args(argv)
    _die_with_parent(args.parent)
    config = load_or_exit(args.config, args.overrides)
    logging.basicConfig(level=args.log_level,
                        format=f"%(asctime)s %(levelname)s %(name)s[w{args.index}]: %(message)s")
    sockets = [socket.socket(fileno=fd) for fd in args.listen]
    return run_tool(work(config, sockets, socket.socket(fileno=args.ready), args.index))


def _die_with_parent(parent: int) -> None:
    """SIGTERM from the kernel when the master goes; gone already: exit now."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(1)


async def work(config: Config, sockets: Sequence[socket.socket], ready: socket.socket,
               index: int = 1) -> int:
    tls = tls_context(config)
    with stop_event(signal.SIGTERM) as stop:
        async with _access_log(config, tls) as sink:
            app = create_app(config, worker=index)
            logger = access_logger_class(sink, config.NodeName, index, app[STATS])
            runner = GuardedRunner(app, ConnectionLimits.of(config),
                                   shutdown_timeout=CLOSE_SECONDS, access_log_class=logger)
            try:
                await runner.setup()
            except ProxyDBError as exc:  # gone since the master checked it
                raise ToolError(str(exc)) from None
            try:
                if not stop.is_set():
                    for sock in sockets:
                        await _site(runner, sock, config, tls).start()
                    _settle_garbage_collector()
                    _share_the_interpreter()
                    _say_ready(ready)
                await stop.wait()
                await _drain(runner)
            finally:
                await runner.cleanup()
    return 0


async def _drain(runner: web.AppRunner) -> None:
    """No new connections; the requests in flight finish (``SHUTDOWN_GRACE`` at most).

    Before aiohttp's own shutdown, which stops reading every connection at once
    and would cut off a request whose body is still arriving.
    """
    for site in list(runner.sites):
        await site.stop()
    gate = runner.app[REQUEST_GATE]
    if gate.in_flight:
        log.info("finishing %d request(s) in flight", gate.in_flight)
    try:
        await asyncio.wait_for(gate.idle(), SHUTDOWN_GRACE)
    except TimeoutError:
        log.warning("%d request(s) still in flight after %.0f s; closing them",
                    gate.in_flight, SHUTDOWN_GRACE)


def _say_ready(ready: socket.socket) -> None:
    try:
        ready.sendall(READY)
    except OSError as exc:
        raise ToolError(f"cannot tell the master this worker is ready: {exc}") from None
    finally:
        ready.close()


def _share_the_interpreter() -> None:
    """Executor threads (report expansion, a write's iCalendar work) hold the
    interpreter lock for ``SWITCH_SECONDS`` at a time instead of Python's 5 ms: the event
    loop thread waits that long each time it wants the lock back (after every poll for
    I/O), so a cheap request served beside a wide expansion paid 5 ms several times over."""
    sys.setswitchinterval(SWITCH_SECONDS)


def _settle_garbage_collector() -> None:
    """Everything built at start-up (modules, config, directory, pools) lives as long
    as the process: move it out of the collector's sight, and collect young objects
    less eagerly.  A request allocates a few hundred objects; with the default
    threshold (700) nearly every request paid for a collection that scanned the
    whole start-up heap again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def _site(runner: web.AppRunner, sock: socket.socket, config: Config,
          tls: ReloadableContext | None) -> web.SockSite:
    """The master binds SSLPort like HTTPPort; the port tells them apart."""
    if tls is None or sock.getsockname()[1] != config.SSLPort:
        return web.SockSite(runner, sock, backlog=BACKLOG)
    return TLSSite(runner, sock, tls.context, config.IdleConnectionTimeOut, backlog=BACKLOG)


@contextlib.asynccontextmanager
async def _access_log(config: Config,
                      tls: ReloadableContext | None) -> AsyncIterator[AccessLogSink]:
    """The access log, reopened on SIGHUP (for logrotate) like the TLS certificate is
    reloaded, flushed at the end."""
    try:
        sink = AccessLogSink(config.AccessLogFile,
                             Rotation(config.AccessLogMaxBytes, config.AccessLogBackups))
    except OSError as exc:
        raise ToolError(f"AccessLogFile {config.AccessLogFile}: "
                        f"{exc.strerror or exc}") from None
    try:
        with on_signals([signal.SIGHUP], _hang_up, sink, tls):
            yield sink
    finally:
        sink.close()


def _hang_up(sink: AccessLogSink, tls: ReloadableContext | None) -> None:
    sink.reopen()
    if tls is not None:
        tls.reload()


@contextlib.contextmanager
def on_signals(signals: Sequence[signal.Signals], callback: Callable[..., object],
               *args: object) -> Iterator[None]:
    """``callback(*args)`` in the event loop on each of ``signals``, while inside."""
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, callback, *args)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


@contextlib.contextmanager
def stop_event(*signals: signal.Signals) -> Iterator[asyncio.Event]:
    """An event set by any of ``signals``, while inside."""
    stop = asyncio.Event()
    with on_signals(signals, stop.set):
        yield stop


if __name__ == "__main__":
    sys.exit(main())
