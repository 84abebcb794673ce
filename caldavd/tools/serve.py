"""caldavd: the server.

    caldavd -f caldavd.plist                 serve in the foreground
    caldavd --check-config -f caldavd.plist  print the effective configuration

With ``DBType ""`` caldavd first starts its embedded PostgreSQL cluster and
applies the schema; with ``DBType "postgres"`` it refuses to start on a schema
that is behind and names ``caldavd-bootstrap-db``.  SIGTERM and SIGINT stop
accepting, let in-flight requests finish, then stop the embedded cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator, Iterator, Sequence

from aiohttp import web

from caldavd.cache.servers import MemcachedServerError, memcached_servers
from caldavd.config import Config, effective_config
from caldavd.http.accesslog import AccessLogSink, access_logger_class
from caldavd.http.app import create_app
from caldavd.store.postgres.cluster import ClusterError
from caldavd.store.postgres.embedded import EmbeddedDatabase
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.params import connect_kwargs_for, describe_target
from caldavd.tools.common import add_config_argument, load_or_exit, run_tool
from caldavd.tools.dbcommon import ToolError, describe_status, read_schema_status

log = logging.getLogger("caldavd")

# Seconds in-flight requests get to finish after SIGTERM.
SHUTDOWN_GRACE = 30.0
# Allocations between two collections of the youngest generation (CPython's default: 700).
GC_THRESHOLD = 20_000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="caldavd", description="A CalDAV server.")
    add_config_argument(parser)
    parser.add_argument("--check-config", action="store_true",
                        help="print the effective configuration (passwords masked) and exit; "
                             "exit status 2 names every bad key")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_or_exit(args.config, args.overrides)
    if args.check_config:
        print(json.dumps(effective_config(config, mask_passwords=True), indent=2, default=str))
        return 0
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_tool(serve(config, args.config))


async def serve(config: Config, config_path: str) -> int:
    if not config.UseDatabase:
        raise ToolError("UseDatabase is false, but caldavd stores data only in PostgreSQL; "
                        "set UseDatabase to true", exit_code=2)
    # Handlers go in first: a signal during start-up (initdb can take seconds) must still
    # lead to an orderly stop of the embedded cluster, not to the default abrupt exit.
    with _stop_signals() as stop:
        async with (_memcached_ready(config), _database_ready(config, config_path),
                    _access_log(config) as sink):
            runner = web.AppRunner(create_app(config), shutdown_timeout=SHUTDOWN_GRACE,
                                   access_log_class=access_logger_class(sink))
            await runner.setup()
            try:
                if not stop.is_set():
                    await _start_sites(runner, config)
                    _settle_garbage_collector()
                await stop.wait()
                log.info("stopping: finishing in-flight requests")
            finally:
                await runner.cleanup()
    return 0


def _settle_garbage_collector() -> None:
    """Everything built at start-up (modules, config, directory, pools) lives as long
    as the process: move it out of the collector's sight, and collect young objects
    less eagerly.  A request allocates a few hundred objects; with the default
    threshold (700) nearly every request paid for a collection that scanned the
    whole start-up heap again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


@contextlib.asynccontextmanager
async def _access_log(config: Config) -> AsyncIterator[AccessLogSink]:
    """The access log, reopened on SIGHUP (for logrotate), flushed at the end."""
    try:
        sink = AccessLogSink(config.AccessLogFile)
    except OSError as exc:
        raise ToolError(f"AccessLogFile {config.AccessLogFile}: "
                        f"{exc.strerror or exc}") from None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, sink.reopen)
    try:
        yield sink
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        sink.close()


@contextlib.asynccontextmanager
async def _memcached_ready(config: Config) -> AsyncIterator[None]:
    """The memcached servers caldavd owns: first to start, last to stop."""
    try:
        async with memcached_servers(config):
            yield
    except MemcachedServerError as exc:
        raise ToolError(str(exc)) from None


@contextlib.asynccontextmanager
async def _database_ready(config: Config, config_path: str) -> AsyncIterator[None]:
    """Embedded cluster started and migrated, or an external schema verified."""
    kwargs = connect_kwargs_for(config)
    embedded = EmbeddedDatabase(config) if config.DBType == "" else None
    try:
        if embedded is not None:
            await embedded.start()
            result = await upgrade_to_head(kwargs)
            if result.changed:
                log.info("schema upgraded from %s to %s", result.before or "empty", result.after)
        status = await read_schema_status(kwargs, describe_target(config))
        if status.behind or status.ahead:
            raise ToolError(f"{describe_status(status)}: run "
                            f"'caldavd-bootstrap-db -f {config_path}'")
        yield
    except ClusterError as exc:
        raise ToolError(str(exc)) from None
    finally:
        if embedded is not None:
            await _stop_quietly(embedded)


async def _stop_quietly(embedded: EmbeddedDatabase) -> None:
    try:
        await embedded.stop()
    except ClusterError as exc:
        log.error("%s", exc)


async def _start_sites(runner: web.AppRunner, config: Config) -> None:
    hosts: Sequence[str | None] = config.BindAddresses or (None,)
    for host in hosts:
        site = web.TCPSite(runner, host, config.HTTPPort, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise ToolError(f"cannot listen on {host or '*'}:{config.HTTPPort}: "
                            f"{exc.strerror or exc}") from None
        log.info("listening on http://%s:%d/", host or "*", config.HTTPPort)


@contextlib.contextmanager
def _stop_signals() -> Iterator[asyncio.Event]:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


if __name__ == "__main__":
    sys.exit(main())
